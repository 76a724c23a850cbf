import DirectoryObserver
import Glibc

/// `hold-lock OUTBOX`: takes the outbox's lock, prints `locked PID`, then waits until killed. The lock
/// tests kill it with SIGKILL to show that a dead holder never blocks the next daemon.
enum HoldLock {
    static func run(outbox: String) -> Never {
        let lock: OutboxLock
        do {
            lock = try OutboxLock(outbox: outbox)
        } catch {
            ChildOutput.fail("dirobs-test-child: \(error)")
        }
        ChildOutput.line("locked \(getpid())")
        // The lock must outlive the wait: an optimized build may otherwise release it after its last use.
        withExtendedLifetime(lock) {
            waitUntilKilled()
        }
    }

    private static func waitUntilKilled() -> Never {
        while true { pause() }
    }
}
