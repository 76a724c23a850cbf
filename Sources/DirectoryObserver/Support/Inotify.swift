import Glibc

/// One kernel event from inotify: the watch it belongs to, its mask and the name inside the watched
/// directory (raw bytes; empty for events about the directory itself).
struct InotifyEvent {
    let watch: Int32
    let mask: UInt32
    let name: [UInt8]

    func has(_ flag: Int32) -> Bool { mask & UInt32(bitPattern: flag) != 0 }
    func has(_ flag: UInt32) -> Bool { mask & flag != 0 }
}

/// An inotify instance: a non-blocking descriptor, its watches, and readers that parse the events waiting
/// in the kernel queue, one buffer at a time or all of them. Not Sendable: owned by the watcher thread; the descriptor is closed
/// exactly once, in `deinit`.
final class Inotify {
    let descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    init() throws(SystemError) {
        descriptor = try systemCall("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
    }

    deinit {
        close(descriptor)
    }

    /// Watches `path` with `mask`; returns the watch descriptor.
    func addWatch(path: String, mask: UInt32) throws(SystemError) -> Int32 {
        try systemCall("inotify_add_watch(\(path))") { inotify_add_watch(descriptor, path, mask) }
    }

    func removeWatch(_ watch: Int32) {
        _ = inotify_rm_watch(descriptor, watch)
    }

    /// Reads every event the kernel has queued now (never blocks). Events come in kernel order.
    func readAvailable() throws(SystemError) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        while try readOnce(into: &events) > 0 {}
        return events
    }

    /// One `read` of the kernel queue (never blocks): appends what it returned, in kernel order, and
    /// returns how many events that was, 0 when the queue was empty. A queue larger than the buffer is
    /// left partly queued for the next call.
    @discardableResult
    func readOnce(into events: inout [InotifyEvent]) throws(SystemError) -> Int {
        let headerSize = MemoryLayout<inotify_event>.size
        var count = -1
        while count < 0 {
            count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return 0 }
                throw SystemError(call: "read(inotify)", errno: code)
            }
        }
        let before = events.count
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset + headerSize <= count {
                let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameStart = offset + headerSize
                let nameBytes = raw[nameStart..<min(nameStart + length, count)]
                let name = Array(nameBytes.prefix { $0 != 0 })
                events.append(InotifyEvent(watch: watch, mask: mask, name: name))
                offset = nameStart + length
            }
        }
        return events.count - before
    }
}
