import BenchSupport
import Foundation

/// The lines `dirobs-bench-outbox` prints: one per measurement, with the median of the runs and the goal.
struct OutboxBenchmarkReport {
    let options: OutboxBenchmarkOptions

    static let appendGoal = 200_000.0
    static let readGoal = 500_000.0
    static let stallGoal = 0.050

    func header(directory: String) {
        BenchOutput.line(
            "outbox benchmark: \(options.events) events per run, \(options.runs) runs (median), directory \(directory)")
    }

    func appendAndRead(_ rates: OutboxBenchmark.AppendAndRead) {
        rateLine(
            "append, synchronous=FULL", rates.appendFull, goal: "≥ \(Int(Self.appendGoal))",
            met: Statistics.median(rates.appendFull) >= Self.appendGoal)
        rateLine("append, synchronous=NORMAL", rates.appendNormal, goal: nil, met: true)
        rateLine(
            "read 4096 + mark delivered", rates.readMark, goal: "≥ \(Int(Self.readGoal))",
            met: Statistics.median(rates.readMark) >= Self.readGoal)
    }

    func prune(_ prune: OutboxBenchmark.Prune) {
        let rows = options.pruneRows
        BenchOutput.line(
            "prune \(rows) delivered rows (synchronous=FULL): "
                + String(format: "%.2f", prune.seconds) + " s, " + String(format: "%.0f", Double(rows) / prune.seconds)
                + " rows/s (pruning began " + String(format: "%.2f", prune.startDelay) + " s after the writer opened)")
        let longest = prune.latencies.max() ?? 0
        BenchOutput.line(
            "writer stall while pruning: \(prune.latencies.count) probe appends every 5 ms, append→completion "
                + "max " + milliseconds(longest) + ", p99 "
                + milliseconds(Statistics.percentile(prune.latencies, 0.99)) + ", median "
                + milliseconds(Statistics.median(prune.latencies)) + " (goal ≤ 50 ms: "
                + (longest <= Self.stallGoal ? "met" : "MISSED") + ")")
    }

    private func rateLine(_ name: String, _ rates: [Double], goal: String?, met: Bool) {
        let each = rates.map { String(format: "%.0f", $0) }.joined(separator: ", ")
        var line = "\(name): median \(String(format: "%.0f", Statistics.median(rates))) events/s (runs: \(each))"
        if let goal { line += " (goal \(goal): \(met ? "met" : "MISSED"))" }
        BenchOutput.line(line)
    }

    private func milliseconds(_ seconds: Double) -> String {
        String(format: "%.1f ms", seconds * 1000)
    }
}
