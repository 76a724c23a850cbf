import Glibc

/// The exclusive lock a daemon (or `drain`) holds on an outbox for its whole life: `flock` on the file
/// `<outbox>.lock`, which also holds the holder's pid for the others to name. The kernel drops the lock
/// when the process dies, so a lock left by a killed process never blocks a restart. Not Sendable: the
/// owner keeps it until it exits or calls `release()`.
public final class OutboxLock {
    private var descriptor: Int32
    /// The lock file's path.
    public let path: String

    /// The lock file beside an outbox.
    public static func lockPath(forOutbox outbox: String) -> String { outbox + ".lock" }

    /// Takes the lock or throws `.locked` naming the holder's pid. A short grace period covers a
    /// `stats` command that is probing the lock at the same moment.
    public init(outbox: String) throws(OutboxError) {
        let path = Self.lockPath(forOutbox: outbox)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let error = SystemError(call: "open(\(path))", errno: errno)
            if error.errno == ENOENT || error.errno == ENOTDIR {
                throw OutboxError(path: outbox, reason: .directoryMissing(OutboxFile.directory(of: outbox)))
            }
            if error.errno == EACCES || error.errno == EROFS {
                throw OutboxError(path: outbox, reason: .notWritable("lock file \(path)"))
            }
            throw OutboxError(path: outbox, reason: .system(error))
        }
        var acquired = false
        for _ in 0..<30 {
            if (try? systemCall("flock") { flock(fd, LOCK_EX | LOCK_NB) }) != nil {
                acquired = true
                break
            }
            usleep(10_000)
        }
        guard acquired else {
            let holder = Self.readPID(fd)
            close(fd)
            throw OutboxError(path: outbox, reason: .locked(holderPID: holder))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.descriptor = fd
        self.path = path
    }

    deinit {
        release()
    }

    /// Drops the lock (closing the file releases it). Safe to call twice.
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    /// The pid of the process holding the outbox's lock, or nil when nobody holds it. Never blocks and
    /// never creates the lock file.
    public static func holder(ofOutbox outbox: String) -> Int32? {
        let fd = open(lockPath(forOutbox: outbox), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return nil
        }
        return readPID(fd) ?? -1
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingWhitespace()
        return Int32(text)
    }
}
