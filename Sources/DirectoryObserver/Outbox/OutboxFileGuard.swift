import Glibc

/// Proves, before the daemon commits, that the files its connection writes are still the outbox at the
/// configured path: the main file neither unlinked nor replaced (SQLite compares the path's inode with
/// the file it has open) and the write-ahead log still the one at `<path>-wal`. Someone who removes,
/// moves or restores the outbox under a running daemon would otherwise leave it committing to files no
/// other process can see, and those events would be lost with the daemon. It checks with two `stat`
/// calls and opens no descriptor. Not Sendable: it belongs to the writer thread with its connection.
struct OutboxFileGuard {
    private let path: String
    private let writeAheadLog: FileIdentity?

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

    /// Records the write-ahead log that `connection` has open now; call it once the connection has read
    /// the file (SQLite opens the log with the first read).
    init(path: String) {
        self.path = path
        writeAheadLog = FileIdentity(path: path + "-wal")
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
        if let writeAheadLog, FileIdentity(path: path + "-wal") != writeAheadLog {
            throw OutboxError(
                path: path, reason: .detached("its write-ahead log \(path)-wal was removed or replaced"))
        }
    }
}
