import Dispatch
import Glibc
import Synchronization

/// Turns signals (SIGTERM, SIGINT, SIGHUP) into values the main thread waits for. Their default actions
/// are replaced, so they no longer end the process, and libdispatch delivers them to a private queue.
/// Not Sendable: the thread that made it owns it and calls `next()`.
public final class SignalWaiter {
    /// What the dispatch handlers and the waiting thread share.
    private final class Inbox: Sendable {
        let received = Mutex<[Int32]>([])
        let arrived = DispatchSemaphore(value: 0)
    }

    private let inbox = Inbox()
    /// Kept for the waiter's lifetime: a released source stops delivering.
    private var sources: [any DispatchSourceSignal] = []

    public init(signals: [Int32]) {
        let queue = DispatchQueue(label: "directory_observer.signals")
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [inbox] in
                inbox.received.withLock { $0.append(number) }
                inbox.arrived.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Blocks until a signal arrives and returns its number.
    public func next() -> Int32 {
        while true {
            inbox.arrived.wait()
            if let number = inbox.received.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return number }
        }
    }
}
