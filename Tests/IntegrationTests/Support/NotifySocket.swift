import DirectoryObserver
import Foundation
import Glibc

/// The test's side of systemd's notification protocol: an `AF_UNIX` datagram socket bound to a path in
/// the test's temporary directory, to pass as `NOTIFY_SOCKET`. Datagrams wait in the kernel until read.
/// Not Sendable: one test owns it.
final class NotifySocket {
    let path: String
    private let descriptor: Int32

    init(in directory: TemporaryDirectory) throws {
        path = directory.appending("notify.sock")
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError(call: "socket", errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw SystemError(call: "bind(\(path))", errno: errno) }
    }

    deinit {
        close(descriptor)
    }

    /// Every datagram waiting now, in arrival order, without blocking.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            guard count > 0 else { break }
            messages.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        return messages
    }

    /// Waits up to `seconds` for a datagram with the line `line`; returns every datagram read until then
    /// (that one last), or nil when none came.
    func waitFor(line: String, within seconds: Double) async throws -> [String]? {
        var seen: [String] = []
        return try await eventually(within: seconds) { () -> [String]? in
            for message in drain() {
                seen.append(message)
                if message.split(separator: "\n").contains(Substring(line)) { return seen }
            }
            return nil
        }
    }
}
