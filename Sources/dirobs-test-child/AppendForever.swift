import DirectoryObserver
import Dispatch
import Glibc
import Logging

/// `append-forever OUTBOX`: the child of the crash test. It takes the outbox's lock, opens it through an
/// `OutboxWriter` (creating it when missing) and appends events until it is killed. Every event of this
/// process has the directory `/append-forever/<pid>` and a file name that is its sequence number (0, 1, …).
/// Each time a completion reports a commit it prints the highest sequence number committed so far, one
/// line per commit; the parent takes the last whole line as what was acknowledged.
enum AppendForever {
    /// Batches handed to the writer and not yet completed; keeps memory bounded while the writer commits.
    static let maxInFlight = 8

    static func run(outbox: String) -> Never {
        var logger = Logger(label: "dirobs-test-child")
        logger.logLevel = .warning
        let lock: OutboxLock
        let writer: OutboxWriter
        do {
            lock = try OutboxLock(outbox: outbox)
            writer = try OutboxWriter(settings: OutboxSettings(path: outbox), logger: logger)
        } catch {
            ChildOutput.fail("dirobs-test-child: \(error)")
        }
        // The lock must outlive the loop: an optimized build may otherwise release it after its last use.
        withExtendedLifetime(lock) {
            appendUntilKilled(writer, directory: "/append-forever/\(getpid())")
        }
    }

    private static func appendUntilKilled(_ writer: OutboxWriter, directory: String) -> Never {
        let slots = DispatchSemaphore(value: maxInFlight)
        var next = 0
        while true {
            let count = Int.random(in: 1...64)
            let events = (next..<next + count).map { sequence in
                NewEvent(
                    queue: "crash", counter: nil, directory: directory, filename: Array(String(sequence).utf8),
                    kind: .created, timestamp: Clock.now())
            }
            let last = next + count - 1
            next += count
            slots.wait()
            // Completions run in hand-in order on the writer thread, so the printed numbers only grow.
            writer.append(events) { committed in
                if committed { ChildOutput.line(String(last)) }
                slots.signal()
            }
        }
    }
}
