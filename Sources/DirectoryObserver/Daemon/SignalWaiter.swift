import Dispatch
import Glibc
import Synchronization

/// Turns SIGTERM, SIGINT and SIGHUP into values a thread can wait for. The signals' default actions are
/// replaced (so they no longer end the process) and libdispatch delivers them to a private queue; `next()`
/// blocks until one arrives.
public final class SignalWaiter: Sendable {
    private let received = Mutex<[Int32]>([])
    private let arrived = DispatchSemaphore(value: 0)
    /// Kept alive for the process's lifetime: a released source stops delivering.
    private let sources = Mutex<[any DispatchSourceSignal]>([])

    public init(signals: [Int32]) {
        let queue = DispatchQueue(label: "directory_observer.signals")
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in
                received.withLock { $0.append(number) }
                arrived.signal()
            }
            source.resume()
            sources.withLock { $0.append(source) }
        }
    }

    /// Blocks until a signal arrives and returns its number.
    public func next() -> Int32 {
        while true {
            arrived.wait()
            if let number = received.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return number }
        }
    }
}
