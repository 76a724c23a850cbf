import Glibc

/// Reads the files of one directory (not recursive) with their modification times, one at a time, so a
/// listing never holds the whole directory in memory (the outbox's `ListingSpool` sorts them, oldest
/// first, as the original does). Directories are left out; anything else (files, symlinks to files,
/// fifos) is a candidate.
enum DirectoryListing {
    /// Calls `body` with each candidate's name and modification time, in directory order.
    static func scan(
        _ directory: String, _ body: (_ name: [UInt8], _ modified: timespec) throws -> Void
    ) throws {
        guard let handle = opendir(directory) else {
            throw SystemError(call: "opendir(\(directory))", errno: errno)
        }
        defer { closedir(handle) }
        let directoryFD = dirfd(handle)
        while let entry = readdir(handle) {
            if entry.pointee.d_type == UInt8(DT_DIR) { continue }
            var info = stat()
            let found = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: 256) { fstatat(directoryFD, $0, &info, 0) == 0 }
            }
            guard found, (info.st_mode & S_IFMT) != S_IFDIR else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            try body(name, info.st_mtim)
        }
    }
}
