import Glibc

/// Proves, before the daemon commits, that the files its connection writes are still the outbox at the
/// configured path: the main file neither unlinked nor replaced (SQLite compares the path's inode with
/// the file it has open), and the write-ahead log and its shared-memory index still the ones it opened
/// (another process that found no `-shm` would build its own and write over the same log). Someone who removes,
/// moves or restores the outbox under a running daemon would otherwise leave it committing to files no
/// other process can see, and those events would be lost with the daemon. It checks with three `stat`
/// calls and opens no descriptor. Not Sendable: it belongs to the writer thread with its connection.
struct OutboxFileGuard {
    private let path: String
    private let writeAheadLogPath: String
    private let sharedMemoryPath: String
    private let writeAheadLog: FileIdentity?
    private let sharedMemory: FileIdentity?

    /// A file's identity: the device and inode a path named when it was looked at.
    private struct FileIdentity: Equatable {
        let device: UInt64
        let inode: UInt64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// Records the write-ahead log and shared-memory index `connection` has open now; call it once the
    /// connection has read the file (SQLite opens both with the first read). Their names come from SQLite,
    /// which puts them beside the file a symbolic link at `path` resolves to.
    init(path: String, connection: SQLiteConnection) {
        self.path = path
        writeAheadLogPath = connection.writeAheadLogPath
        sharedMemoryPath = String(writeAheadLogPath.dropLast(4)) + "-shm"
        writeAheadLog = FileIdentity(path: writeAheadLogPath)
        sharedMemory = FileIdentity(path: sharedMemoryPath)
    }

    /// Throws `.detached` when the outbox at the path is no longer the one `connection` writes.
    func check(_ connection: SQLiteConnection) throws(OutboxError) {
        let moved: Bool
        do {
            moved = try connection.mainFileHasMoved()
        } catch {
            throw OutboxError(path: path, reason: .sqlite(error))
        }
        if moved {
            throw OutboxError(path: path, reason: .detached("the file at the path was removed or replaced"))
        }
        if let writeAheadLog, FileIdentity(path: writeAheadLogPath) != writeAheadLog {
            throw OutboxError(
                path: path, reason: .detached("its write-ahead log \(writeAheadLogPath) was removed or replaced"))
        }
        if let sharedMemory, FileIdentity(path: sharedMemoryPath) != sharedMemory {
            throw OutboxError(
                path: path, reason: .detached("its shared-memory index \(sharedMemoryPath) was removed or replaced"))
        }
    }
}
