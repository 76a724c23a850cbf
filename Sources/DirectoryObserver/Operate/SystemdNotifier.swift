import Glibc

/// Sends state lines to systemd over `NOTIFY_SOCKET` with the documented datagram protocol (sd_notify(3):
/// one `AF_UNIX` datagram of `KEY=value` lines; a path, or an abstract name written with a leading `@`).
/// Without `NOTIFY_SOCKET` there is no notifier. A failed send is ignored, as `sd_notify` callers do: the
/// daemon's work never depends on systemd listening. Sendable: the descriptor and the address never change.
public final class SystemdNotifier: Sendable {
    private let descriptor: Int32
    /// `sun_path`'s bytes, a leading `@` already turned into the NUL of an abstract name.
    private let address: [UInt8]

    /// Nil when `NOTIFY_SOCKET` is unset, empty, not a path or abstract name, or too long.
    public init?(environment: [String: String]) {
        guard let target = environment["NOTIFY_SOCKET"], let first = target.first, first == "/" || first == "@"
        else { return nil }
        var bytes = Array(target.utf8)
        if first == "@" { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        descriptor = fd
        address = bytes
    }

    deinit {
        close(descriptor)
    }

    /// Sends one datagram holding `lines` (each `KEY=value`). Returns whether the datagram was sent.
    @discardableResult
    public func send(_ lines: [String]) -> Bool {
        var message = Array(lines.joined(separator: "\n").utf8)
        var target = sockaddr_un()
        target.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &target.sun_path) { path in
            for (index, byte) in address.enumerated() { path[index] = byte }
        }
        // An abstract name is exactly its bytes long; a path is NUL-terminated within `sun_path`.
        let length = MemoryLayout<sa_family_t>.size + address.count + (address.first == 0 ? 0 : 1)
        let sent = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                message.withUnsafeMutableBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), generic, socklen_t(length))
                }
            }
        }
        return sent == message.count
    }
}
