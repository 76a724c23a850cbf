import Dispatch
import Foundation
import Logging
import Synchronization

/// Runs a `Forwarder` on its own thread for the daemon's lifetime. It wakes when the outbox writer
/// commits and when any other process writes the outbox (`replay`: a `FileChangeSignal` on the
/// write-ahead log), so the hot path never sleeps on a fixed interval and an idle daemon's forwarder
/// never wakes; it backs off with jitter while Redis is unreachable. `stop()` lets the current round
/// trip finish (bounded by the Redis timeout).
public final class ForwarderService: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let stopSignal = WakeSignal()
    private let work: WakeSignal
    private let outboxChanges: FileChangeSignal
    private let finished = DispatchSemaphore(value: 0)
    private let beat: Heartbeat

    /// Starts the thread. `work` is the signal the outbox writer raises after each commit.
    public init(
        settings: ForwarderSettings, writer: OutboxWriter, board: QueueLengthBoard, work: WakeSignal, logger: Logger
    ) throws(OutboxError) {
        self.work = work
        self.beat = settings.metrics.forwarderBeat
        // The forwarder's own connection is opened on the calling thread and moved into the thread,
        // which is its only user from then on.
        let connection = try OutboxFile.open(path: writer.path, access: .modify)
        do {
            outboxChanges = try FileChangeSignal(path: connection.writeAheadLogPath, raising: work)
        } catch {
            throw OutboxError(path: writer.path, reason: .system(error))
        }
        let box = Mutex<OutboxStore?>(OutboxStore(connection: connection))
        startThread(named: "forwarder") {
            guard let store = box.withLock({ $0.take() }) else { return }
            let forwarder = Forwarder(
                settings: settings, store: store, writer: writer, board: board, logger: logger, newWork: work)
            self.run(forwarder)
            try? store.close()
            self.finished.signal()
        }
    }

    private func run(_ forwarder: Forwarder) {
        while !stopping.load(ordering: .acquiring) {
            beat.working()
            let round = forwarder.round()
            beat.rested()
            switch round {
            case .progress:
                continue
            case .idle, .caughtUp:
                work.wait()
            case .waiting(let until):
                work.wait(seconds: max(0.001, until - Clock.monotonic()))
            case .unavailable:
                stopSignal.wait(seconds: forwarder.nextConnectDelay())
            case .outboxFailed:
                stopSignal.wait(seconds: 0.2)
            }
        }
    }

    /// Asks the thread to stop after its current round trip and waits until it has ended and closed its
    /// outbox connection (a round trip is bounded by the Redis timeout), so the writer, stopped after it,
    /// is the last to touch the outbox. Safe to call twice.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        stopSignal.signal()
        work.signal()
        finished.wait()
        finished.signal()
        outboxChanges.stop()
    }
}
