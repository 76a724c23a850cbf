import Glibc

/// A failed system call: its name, `errno` and the text the C library gives for it.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The C library's text for the error number (`No such file or directory`).
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { "\(call) failed: \(reason) (errno \(errno))" }
}

/// Runs a system call, retrying while it is interrupted by a signal (`EINTR`), and throws a
/// `SystemError` naming the call when it fails. `body` returns the call's result; -1 means failure.
@discardableResult
public func systemCall<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(call: name, errno: code)
    }
}
