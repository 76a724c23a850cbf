import DirectoryObserver
import Foundation
import Glibc
import Synchronization

/// Samples VmRSS every 50 ms on its own thread and keeps the largest value; meanwhile it also asks Redis
/// for the lists' lengths and notes when every event has reached Redis (before the outbox has finished
/// marking them), which tells the Redis side of the drain from the local bookkeeping.
final class DrainSampler: Sendable {
    private let peak = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)
    private let allInRedisAt = Mutex<Double?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(endpoint: RedisEndpoint, lists: [String], expected: Int) {
        let thread = Thread { [self] in
            // The connection is made and used on this thread only.
            let redis = try? RedisConnection(endpoint: endpoint, timeout: 5)
            let lengths = lists.map { [Array("LLEN".utf8), Array($0.utf8)] }
            while running.load(ordering: .acquiring) {
                let rss = statusKilobytes("VmRSS")
                if rss > peak.load(ordering: .relaxed) { peak.store(rss, ordering: .relaxed) }
                if allInRedisAt.withLock({ $0 }) == nil, let replies = try? redis?.pipeline(lengths) {
                    let total = replies.reduce(0) { $0 + Int($1.integerValue ?? 0) }
                    if total >= expected { allInRedisAt.withLock { $0 = Clock.monotonic() } }
                }
                usleep(50_000)
            }
            done.signal()
        }
        thread.name = "drain-sampler"
        thread.start()
    }

    /// Stops sampling (after one last sample); returns the peak RSS in kB and when (monotonic time) every
    /// event was in Redis, if that was seen.
    func stop() -> (peakKilobytes: Int, allInRedisAt: Double?) {
        running.store(false, ordering: .releasing)
        done.wait()
        return (max(peak.load(ordering: .relaxed), statusKilobytes("VmRSS")), allInRedisAt.withLock { $0 })
    }
}
