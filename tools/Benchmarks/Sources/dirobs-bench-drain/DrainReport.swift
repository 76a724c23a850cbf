import BenchSupport
import Foundation

/// The lines `dirobs-bench-drain` prints, each as soon as its phase ends; the summary compares the median
/// run with the goals (≥ 300,000 events/s, peak RSS ≤ 50 MB) and with redis-benchmark's LPUSH ceiling.
struct DrainReport {
    let options: DrainOptions

    static let rateGoal = 300_000.0
    static let memoryGoalKilobytes = 50 * 1024

    func header(redisPort: Int) {
        BenchOutput.line(
            "dirobs-bench-drain: \(options.events) events, 2 queues, batch \(options.batchSize), "
                + "outbox_sync \(options.sync), \(options.runs) runs")
        BenchOutput.line("redis-server on 127.0.0.1:\(redisPort) (--save '' --appendonly no)")
    }

    func runStarted(_ run: Int) {
        BenchOutput.line("run \(run) of \(options.runs)")
    }

    func backlogBuilt(seconds: Double) {
        BenchOutput.line(String(format: "  backlog built: %d pending events in %.2f s", options.events, seconds))
    }

    func drained(_ run: DrainRun.Measurement) {
        BenchOutput.line(
            String(
                format: "  drain: %d events in %.2f s = %.0f events/s (Drain.run: pushed and marked in the outbox)",
                run.settled, run.seconds, run.rate))
        if let redisSide = run.allInRedisAfter {
            BenchOutput.line(
                String(
                    format: "  all events in Redis after %.2f s = %.0f events/s (sampled every 50 ms); "
                        + "the outbox's marks finished %.2f s later", redisSide, Double(run.events) / redisSide,
                    run.seconds - redisSide))
        }
        BenchOutput.line(
            String(
                format: "  CPU during the drain: this process %.2f s (forwarder and writer), redis-server %.2f s",
                run.cpuOurs, run.cpuRedis))
        BenchOutput.line(
            "  lists: bench:incoming \(run.incoming), bench:reports \(run.reports), counter \(run.counter), "
                + "dead \(run.dead)" + (run.verified ? " (verified)" : " (MISMATCH)"))
        BenchOutput.line(
            "  memory: VmRSS before drain \(megabytes(run.rssBefore)), VmHWM before \(megabytes(run.hwmBefore)), "
                + "VmHWM after \(megabytes(run.hwmAfter)), "
                + "peak VmRSS sampled during drain (50 ms) \(megabytes(run.peakSampled))")
        if let (calls, seconds) = run.evalsha {
            BenchOutput.line(
                String(
                    format: "  redis-server ran EVALSHA %.0f times, %.2f s in all (%.2f ms per batch)",
                    calls, seconds, calls > 0 ? seconds * 1000 / calls : 0))
        }
    }

    /// The median of the runs, the ceiling and the goals.
    func summary(_ runs: [DrainRun.Measurement], ceiling: Double?) {
        let rate = Statistics.median(runs.map(\.rate))
        let peak = runs.map(\.peakSampled).max() ?? 0
        BenchOutput.line(
            "drain: median \(String(format: "%.0f", rate)) events/s (runs: "
                + runs.map { String(format: "%.0f", $0.rate) }.joined(separator: ", ")
                + "); peak RSS \(megabytes(peak))")
        if let ceiling {
            BenchOutput.line(
                String(
                    format: "ceiling: redis-benchmark -t lpush -P 64 -n 1000000: %.0f LPUSH/s; ours/ceiling = %.2f",
                    ceiling, rate / ceiling))
        } else {
            BenchOutput.line("ceiling: redis-benchmark did not run or its output was not understood")
        }
        let rateMet = rate >= Self.rateGoal
        let memoryMet = peak <= Self.memoryGoalKilobytes
        BenchOutput.line(
            "goals: drain >= 300000 events/s: \(rateMet ? "met" : "MISSED"); "
                + "peak RSS during drain <= 50 MB: \(memoryMet ? "met" : "MISSED") (median of \(options.runs) runs)")
    }
}
