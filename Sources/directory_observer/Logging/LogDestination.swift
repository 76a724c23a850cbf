import DirectoryObserver
import Glibc
import Synchronization

/// Where log lines go: stdout, or a file opened in append mode that `reopen()` opens again (SIGHUP, after
/// logrotate moved it). Lines are written whole, one `write` each, under a lock.
final class LogDestination: Sendable {
    private let path: String?
    private let descriptor: Mutex<Int32>

    /// Logs to `path` (appending, created when missing) or to stdout when nil.
    init(path: String?) throws(SystemError) {
        self.path = path
        if let path {
            descriptor = Mutex(try Self.open(path))
        } else {
            descriptor = Mutex(1)
        }
    }

    private static func open(_ path: String) throws(SystemError) -> Int32 {
        try systemCall("open(\(path))") { Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
    }

    /// Opens the file again at its path; keeps the old descriptor when that fails.
    func reopen() {
        guard let path, let fresh = try? Self.open(path) else { return }
        let old = descriptor.withLock { current in
            defer { current = fresh }
            return current
        }
        close(old)
    }

    func write(_ line: String) {
        var line = line
        descriptor.withLock { fd in
            line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}
