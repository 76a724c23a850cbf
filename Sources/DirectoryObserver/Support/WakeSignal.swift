import Dispatch
import Synchronization

/// Wakes one waiting thread when there is work, coalescing signals: many `signal()` calls between two
/// waits cost one wake-up. A signal sent before the wait is never lost.
public final class WakeSignal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let raised = Atomic<Bool>(false)

    public init() {}

    /// Wakes the waiter (now, or at its next wait).
    public func signal() {
        if !raised.exchange(true, ordering: .acquiringAndReleasing) {
            semaphore.signal()
        }
    }

    /// Whether a signal waits for the next `wait()`: something happened since the last wait returned.
    public var isRaised: Bool { raised.load(ordering: .acquiring) }

    /// Waits until signalled, however long that takes.
    public func wait() {
        semaphore.wait()
        raised.store(false, ordering: .releasing)
    }

    /// Waits until signalled or until `seconds` pass (an infinite or huge wait is `wait()`); returns true
    /// when signalled. Work published before
    /// the matching `signal()` is visible after this returns.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds < 1e9 else {
            wait()
            return true
        }
        let woken = semaphore.wait(timeout: .now() + .nanoseconds(Int(seconds * 1_000_000_000))) == .success
        if woken { raised.store(false, ordering: .releasing) }
        return woken
    }
}
