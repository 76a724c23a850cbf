import Dispatch
import Glibc
import Synchronization

/// Reads the files of one directory (not recursive) with their modification times, a chunk of names at
/// a time, so a listing never holds the whole directory in memory (the outbox's `ListingSpool` sorts
/// them, oldest first, as the original does). Directories are left out; anything else (files, symlinks
/// to files, fifos) is a candidate.
enum DirectoryListing {
    /// Names read from the directory before their modification times are looked up.
    static let chunkSize = 4_096

    /// Calls `body` with each candidate's name and modification time, in directory order. The `stat`
    /// of a chunk's names is split over two threads: it is most of a listing's time, and the kernel
    /// serves both halves at once.
    static func scan(
        _ directory: String, _ body: (_ name: [UInt8], _ modified: timespec) throws -> Void
    ) throws {
        guard let handle = opendir(directory) else {
            throw SystemError(call: "opendir(\(directory))", errno: errno)
        }
        defer { closedir(handle) }
        var chunk = NameChunk(directoryFD: dirfd(handle))
        while true {
            chunk.removeAll()
            while chunk.count < chunkSize {
                // readdir answers nil both at the end and on an error (EIO, ESTALE): only errno tells them
                // apart, and a listing cut short by an error must fail (and be tried again), not end.
                errno = 0
                guard let entry = readdir(handle) else {
                    if errno != 0 { throw SystemError(call: "readdir(\(directory))", errno: errno) }
                    break
                }
                if entry.pointee.d_type == UInt8(DT_DIR) { continue }
                withUnsafeBytes(of: entry.pointee.d_name) { raw in chunk.append(raw.prefix { $0 != 0 }) }
            }
            if chunk.count == 0 { return }
            chunk.lookUpModificationTimes()
            for index in 0..<chunk.count {
                guard let modified = chunk.modified[index] else { continue }
                try body(chunk.name(index), modified)
            }
        }
    }
}

/// The names of one chunk, each NUL-terminated in one buffer, and their modification times once looked
/// up (nil for a name that is gone or is a directory).
private struct NameChunk {
    let directoryFD: Int32
    private var bytes: [UInt8] = []
    private var starts: [Int] = []
    private(set) var modified: [timespec?] = []

    init(directoryFD: Int32) {
        self.directoryFD = directoryFD
        bytes.reserveCapacity(DirectoryListing.chunkSize * 32)
        starts.reserveCapacity(DirectoryListing.chunkSize + 1)
    }

    var count: Int { starts.count }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
    }

    mutating func append(_ name: some Collection<UInt8>) {
        starts.append(bytes.count)
        bytes.append(contentsOf: name)
        bytes.append(0)
    }

    /// The name without its NUL.
    func name(_ index: Int) -> [UInt8] {
        let end = index + 1 < starts.count ? starts[index + 1] : bytes.count
        return Array(bytes[starts[index]..<(end - 1)])
    }

    /// `fstatat` of every name, the first half on this thread and the second on another. Each half reads
    /// the chunk's (immutable, shared) buffers and hands back the times of its own names.
    mutating func lookUpModificationTimes() {
        let (directoryFD, bytes, starts, count) = (self.directoryFD, self.bytes, self.starts, starts.count)
        let halves = count < 64 ? [0..<count] : [0..<(count + 1) / 2, (count + 1) / 2..<count]
        let found = Mutex<[[timespec?]]>(Array(repeating: [], count: halves.count))
        DispatchQueue.concurrentPerform(iterations: halves.count) { part in
            let times = bytes.withUnsafeBufferPointer { bytes in
                halves[part].map { index -> timespec? in
                    var info = stat()
                    let path = bytes.baseAddress! + starts[index]
                    let statted = path.withMemoryRebound(to: CChar.self, capacity: 1) {
                        fstatat(directoryFD, $0, &info, 0) == 0
                    }
                    return statted && (info.st_mode & S_IFMT) != S_IFDIR ? info.st_mtim : nil
                }
            }
            found.withLock { $0[part] = times }
        }
        modified = found.withLock { $0.flatMap { $0 } }
    }
}
