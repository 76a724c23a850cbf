import Dispatch
import Foundation
import Glibc
import Logging
import Synchronization

/// Runs the `Watcher` on its own thread: a blocking `poll` on the inotify descriptor and a wake-up pipe,
/// with the timeout of the next timer, and in a burst a short pause between reads (`ReadPacing`).
/// `requestListing()` (the outbox recovered) and `stop()` come in through the pipe, from any thread, and
/// cut a pause short.
public final class WatcherService: Sendable {
    private enum Command: Sendable {
        case listAll
        case stop
    }

    private let pipe: WakePipe
    private let commands = Mutex<[Command]>([])
    private let finished = DispatchSemaphore(value: 0)

    /// Builds the filters, arms every directory, lists them, then keeps watching on a new thread.
    /// Throws when the inotify instance cannot be made.
    public init(
        monitors: [(MonitorConfig, NameFilter)], writer: OutboxWriter, board: QueueLengthBoard,
        inactivityTimeout: Double?, logger: Logger, metrics: PipelineMetrics = .disabled()
    ) throws(SystemError) {
        pipe = try WakePipe()
        let started = Mutex<Result<Void, SystemError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let pipe = self.pipe
        startThread(named: "watcher") { [self] in
            let watcher: Watcher
            do throws(SystemError) {
                watcher = try Watcher(
                    monitors: monitors.map { Watcher.Monitor(config: $0.0, filter: $0.1) }, writer: writer,
                    board: board, inactivityTimeout: inactivityTimeout, logger: logger, metrics: metrics)
                started.withLock { $0 = .success(()) }
            } catch {
                started.withLock { $0 = .failure(error) }
                ready.signal()
                return
            }
            // Arm (and list) before `init` returns: a file created after start must be seen as created by
            // the watch, not left to a race with the thread's start-up.
            watcher.armAll()
            ready.signal()
            self.run(watcher, pipe: pipe)
            self.finished.signal()
        }
        ready.wait()
        if case .failure(let error) = started.withLock({ $0 }) { throw error }
    }

    /// Lists every watched directory soon (used when outbox commits succeed again after failing).
    public func requestListing() {
        commands.withLock { $0.append(.listAll) }
        pipe.wake()
    }

    /// Stops watching after handing what was read to the outbox; blocks until the thread is done.
    public func stop() {
        commands.withLock { $0.append(.stop) }
        pipe.wake()
        finished.wait()
        finished.signal()
    }

    private func run(_ watcher: Watcher, pipe: WakePipe) {
        let pacing = ReadPacing.forThisMachine()
        var descriptors = [
            pollfd(fd: watcher.descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: pipe.readDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let wait = watcher.runTimers()
            descriptors[0].fd = watcher.descriptor
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            let timeout = Int32(min(wait * 1000, 60_000).rounded(.up))
            let ready = poll(&descriptors, 2, timeout)
            if ready < 0 && errno != EINTR {
                usleep(100_000)
                continue
            }
            if descriptors[0].revents != 0, let pause = pacing.pause(afterReading: watcher.readEvents()) {
                // Only the pipe wakes the pause early, so a stop or a listing request is not held.
                _ = poll(&descriptors[1], 1, pause)
            }
            if descriptors[1].revents != 0 {
                pipe.drain()
                let pending = commands.withLock { commands in
                    defer { commands.removeAll() }
                    return commands
                }
                if pending.contains(where: { if case .stop = $0 { true } else { false } }) {
                    // What was queued when the stop came is at most the queue's limit; files that keep
                    // arriving do not hold the stop.
                    watcher.readQueue(atMost: pacing.queueLimit)
                    return
                }
                if !pending.isEmpty { watcher.listAll() }
            }
        }
    }
}
