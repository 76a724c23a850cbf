import Glibc

/// Unbuffered output for the test child: each line is one `write(2)`, so a parent reading a pipe sees whole
/// lines even when this process is killed with SIGKILL right after writing.
enum ChildOutput {
    /// Writes `line` and a newline to standard output in one call.
    static func line(_ line: String) {
        write(1, line + "\n")
    }

    /// Writes `message` to standard error and exits with `status`.
    static func fail(_ message: String, status: Int32 = 1) -> Never {
        write(2, message + "\n")
        exit(status)
    }

    private static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
