import Foundation
import Glibc
import Synchronization

/// Raises a `WakeSignal` when a file is written or closed after writing, by any process, at most once per
/// `quietPeriod` while writes go on, and once more `settleDelay` after the last one: a thread of its own
/// sleeps in `poll` on an inotify descriptor watching the file, so nothing runs while the file is left
/// alone, and a busy writer (the daemon's own, a few writes per commit) costs at most one wake-up per
/// `quietPeriod`, not one per write. The daemon uses it on the
/// outbox's write-ahead log, where every commit lands, so the forwarder hears of events another process
/// adds (`replay`) without polling the outbox. The trailing signal is there because a commit's last write
/// to the log comes before SQLite makes the commit visible (an fsync and the shared-memory index come
/// after it): a reader woken by the write itself may look too early. `stop()` removes the watch, which
/// wakes the thread (the kernel queues `IN_IGNORED`), and waits for it to end; the thread owns the
/// inotify instance and closes it.
public final class FileChangeSignal: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let descriptor: Int32
    private let watch: Int32
    private let finished = DispatchSemaphore(value: 0)

    /// Milliseconds after the last write before the trailing signal.
    static let settleDelay: Int32 = 200

    /// Microseconds the thread sleeps after a signal before it looks at the file again.
    static let quietPeriod: UInt32 = 20_000

    /// Starts watching `path` (which must exist) and raising `signal` when it is written.
    public init(path: String, raising signal: WakeSignal) throws(SystemError) {
        let inotify = try Inotify()
        watch = try inotify.addWatch(path: path, mask: UInt32(IN_MODIFY | IN_CLOSE_WRITE))
        descriptor = inotify.descriptor
        let handOver = Mutex<Inotify?>(inotify)
        startThread(named: "outbox-changes") { [self] in
            if let inotify = handOver.withLock({ $0.take() }) {
                run(inotify, raising: signal)
            }
            finished.signal()
        }
    }

    private func run(_ inotify: Inotify, raising signal: WakeSignal) {
        var descriptors = [pollfd(fd: inotify.descriptor, events: Int16(POLLIN), revents: 0)]
        var settling = false
        while !stopping.load(ordering: .acquiring) {
            guard let ready = try? systemCall("poll", { poll(&descriptors, 1, settling ? Self.settleDelay : -1) })
            else { return }
            if ready == 0 {
                settling = false
                signal.signal()
                continue
            }
            guard let events = try? inotify.readAvailable() else { return }
            if events.contains(where: { $0.has(IN_MODIFY) || $0.has(IN_CLOSE_WRITE) }) {
                settling = true
                signal.signal()
                // The writes of the coming quiet period queue up in the kernel and are read in one go.
                usleep(Self.quietPeriod)
            }
        }
    }

    /// Stops the thread (it closes the descriptor). Safe to call twice.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = inotify_rm_watch(descriptor, watch)
        finished.wait()
    }
}
