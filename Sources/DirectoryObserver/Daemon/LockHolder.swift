import Synchronization

/// Keeps an `OutboxLock` for a Sendable owner. The lock is only ever touched inside the mutex, so the
/// non-Sendable `OutboxLock` never escapes to two threads at once.
final class LockHolder: Sendable {
    private let lock: Mutex<OutboxLock?>

    init(_ lock: consuming sending OutboxLock) {
        self.lock = Mutex(lock)
    }

    /// Releases the lock; later calls do nothing.
    func release() {
        lock.withLock { held in
            held?.release()
            held = nil
        }
    }
}
