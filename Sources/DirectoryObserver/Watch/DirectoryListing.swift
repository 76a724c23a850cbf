import Glibc

/// Lists the files of one directory (not recursive), oldest modification time first, as the original
/// does. Directories are left out; anything else (files, symlinks to files, fifos) is a candidate.
enum DirectoryListing {
    /// The names, oldest modification time first (ties broken by name, so the order is stable).
    static func files(in directory: String) throws(SystemError) -> [[UInt8]] {
        guard let handle = opendir(directory) else {
            throw SystemError(call: "opendir(\(directory))", errno: errno)
        }
        defer { closedir(handle) }
        let directoryFD = dirfd(handle)
        var entries: [(mtime: timespec, name: [UInt8])] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            if entry.pointee.d_type == UInt8(DT_DIR) { continue }
            var info = stat()
            let found = name.withUnsafeBufferPointer { bytes -> Bool in
                var path = Array(bytes)
                path.append(0)
                return path.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { fstatat(directoryFD, $0.baseAddress!, &info, 0) == 0 }
                }
            }
            guard found, (info.st_mode & S_IFMT) != S_IFDIR else { continue }
            entries.append((info.st_mtim, name))
        }
        entries.sort { left, right in
            if left.mtime.tv_sec != right.mtime.tv_sec { return left.mtime.tv_sec < right.mtime.tv_sec }
            if left.mtime.tv_nsec != right.mtime.tv_nsec { return left.mtime.tv_nsec < right.mtime.tv_nsec }
            return left.name.lexicographicallyPrecedes(right.name)
        }
        return entries.map(\.name)
    }
}
