import DirectoryObserver
import Foundation
import Glibc
import Logging
import Synchronization

/// `outbox`: throughput of the outbox's write and read paths and the writer's stall while it prunes.
///
/// - append: `events` events handed to an `OutboxWriter` by one producer thread in batches of 1–1000,
///   timed until `flush` returns (everything committed), with `synchronous=FULL` and `NORMAL`;
/// - read + mark delivered: what the forwarder does, on the outbox the FULL append left: `pendingBatch`
///   4096 at a time on a read-only connection, each batch marked delivered through the writer;
/// - prune: `pruneRows` delivered events older than the retention, pruned by the writer on its own while a
///   probe thread appends one event every 5 ms and measures how long each waits for its commit.
///
/// The first two are run `runs` times and the median is reported; the prune runs once.
struct OutboxBenchmark {
    var events = 500_000
    var runs = 3
    var pruneRows = 1_000_000
    var directory: String?
    private let logger: Logger = {
        var logger = Logger(label: "dirobs-bench")
        logger.logLevel = .warning
        return logger
    }()

    static let appendGoal = 200_000.0
    static let readGoal = 500_000.0
    static let stallGoal = 0.050

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func main(arguments: [String], usage: String) -> Int32 {
        var benchmark = OutboxBenchmark()
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            guard let value = remaining.popFirst() else {
                BenchOutput.fail("dirobs-bench: \(option) needs a value\n\(usage)", status: 64)
            }
            switch option {
            case "--events": benchmark.events = positive(value, option, usage)
            case "--runs": benchmark.runs = positive(value, option, usage)
            case "--prune-rows": benchmark.pruneRows = positive(value, option, usage)
            case "--dir": benchmark.directory = value
            default: BenchOutput.fail("dirobs-bench: unknown option \(option)\n\(usage)", status: 64)
            }
        }
        do {
            try benchmark.run()
            return 0
        } catch {
            BenchOutput.fail("dirobs-bench: \(error)")
        }
    }

    private static func positive(_ text: String, _ option: String, _ usage: String) -> Int {
        guard let value = Int(text), value > 0 else {
            BenchOutput.fail("dirobs-bench: \(option) wants a positive integer, not \(text)\n\(usage)", status: 64)
        }
        return value
    }

    // MARK: - Running

    func run() throws {
        let base = directory ?? FileManager.default.temporaryDirectory.path + "/dirobs-bench-\(getpid())"
        let madeDirectory = !FileManager.default.fileExists(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if madeDirectory { try? FileManager.default.removeItem(atPath: base) } }

        BenchOutput.line("outbox benchmark: \(events) events per run, \(runs) runs (median), directory \(base)")
        var appendFull: [Double] = []
        var appendNormal: [Double] = []
        var readMark: [Double] = []
        for run in 1...runs {
            for sync in [OutboxSettings.Sync.full, .normal] {
                let path = "\(base)/append-\(sync.rawValue)-\(run).sqlite3"
                defer { removeOutbox(path) }
                let writer = try OutboxWriter(settings: OutboxSettings(path: path, sync: sync), logger: logger)
                defer { writer.stop() }
                let seconds = try appendRun(writer, seed: UInt64(run))
                let rate = Double(events) / seconds
                if sync == .full {
                    appendFull.append(rate)
                    let readSeconds = try readAndMarkRun(writer, path: path)
                    readMark.append(Double(events) / readSeconds)
                } else {
                    appendNormal.append(rate)
                }
            }
        }
        report(
            "append, synchronous=FULL", appendFull, unit: "events/s", goal: "≥ \(Int(Self.appendGoal))",
            met: median(appendFull) >= Self.appendGoal)
        report("append, synchronous=NORMAL", appendNormal, unit: "events/s", goal: nil, met: true)
        report(
            "read 4096 + mark delivered", readMark, unit: "events/s", goal: "≥ \(Int(Self.readGoal))",
            met: median(readMark) >= Self.readGoal)

        let path = "\(base)/prune.sqlite3"
        defer { removeOutbox(path) }
        let prune = try pruneRun(path: path)
        BenchOutput.line(
            "prune \(pruneRows) delivered rows (synchronous=FULL): "
                + format(prune.seconds, "%.2f") + " s, " + format(Double(pruneRows) / prune.seconds, "%.0f")
                + " rows/s (pruning began " + format(prune.startDelay, "%.2f") + " s after the writer opened)")
        BenchOutput.line(
            "writer stall while pruning: \(prune.latencies.count) probe appends every 5 ms, append→completion "
                + "max " + format(prune.latencies.max() ?? 0, ms: true) + ", p99 "
                + format(percentile(prune.latencies, 0.99), ms: true) + ", median "
                + format(percentile(prune.latencies, 0.5), ms: true) + " (goal ≤ 50 ms: "
                + ((prune.latencies.max() ?? 0) <= Self.stallGoal ? "met" : "MISSED") + ")")
    }

    /// Hands every event to the writer in batches of 1–1000 and returns the seconds until all committed.
    private func appendRun(_ writer: OutboxWriter, seed: UInt64) throws -> Double {
        var random = SplitMix64(state: seed)
        var batches: [[NewEvent]] = []
        var made = 0
        let timestamp = Clock.now()
        while made < events {
            let count = min(events - made, Int.random(in: 1...1000, using: &random))
            batches.append(
                (made..<made + count).map { index in
                    NewEvent(
                        queue: "bench", counter: nil, directory: "/data/incoming",
                        filename: Array("file-\(index).dat".utf8), kind: .created,
                        timestamp: timestamp + Double(index) / 1_000_000)
                })
            made += count
        }
        let start = Clock.monotonic()
        for batch in batches {
            writer.append(batch)
        }
        guard writer.flush(timeout: 600) else { throw Failure(description: "append: flush timed out") }
        return Clock.monotonic() - start
    }

    /// Reads every pending event 4096 at a time and marks each batch delivered through the writer, as the
    /// forwarder does; returns the seconds until the last mark is committed.
    private func readAndMarkRun(_ writer: OutboxWriter, path: String) throws -> Double {
        let reader = OutboxStore(connection: try OutboxFile.open(path: path, access: .inspect))
        defer { try? reader.close() }
        let start = Clock.monotonic()
        var after: Int64 = 0
        var read = 0
        while true {
            let batch = try reader.pendingBatch(queue: "bench", afterID: after, limit: 4096)
            guard let first = batch.first, let last = batch.last else { break }
            writer.markDelivered(queue: "bench", through: last.id, skipped: [])
            after = last.id
            read += batch.count
        }
        guard writer.flush(timeout: 600) else { throw Failure(description: "read: flush timed out") }
        let seconds = Clock.monotonic() - start
        let left = try reader.pendingCount()
        guard read == events, left == 0 else {
            throw Failure(description: "read: \(read) events read, \(left) still pending; expected \(events) and 0")
        }
        return seconds
    }

    struct PruneResult {
        var seconds: Double
        var startDelay: Double
        var latencies: [Double]
    }

    /// Fills an outbox with delivered events settled two hours ago, opens a writer with a one-hour
    /// retention and times its pruning while a probe measures the commit latency of single appends.
    private func pruneRun(path: String) throws -> PruneResult {
        let settled = Clock.now() - 7_200
        do {
            let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon, sync: .normal))
            try store.connection.transaction { () throws(SQLiteError) in
                let fill = try store.connection.prepare(
                    """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO events (queue, directory, filename, event, event_timestamp, created_at)
                    SELECT 'bench', '/data/incoming', CAST('file-' || i || '.dat' AS BLOB), 'created', ?, ?
                    FROM n
                    """)
                try fill.run([.integer(Int64(pruneRows)), .real(settled), .real(settled)])
                // Delivered the way the forwarder delivers a backlog: 4096 events a batch.
                for through in Array(stride(from: 4_096, to: pruneRows, by: 4_096)) + [pruneRows] {
                    try store.markDelivered(queue: "bench", through: Int64(through), skipped: [], at: settled)
                }
            }
            try store.close()
        }
        let writer = try OutboxWriter(
            settings: OutboxSettings(path: path, sync: .full, retention: 3_600), logger: logger)
        let opened = Clock.monotonic()
        let latencies = Mutex<[Double]>([])
        let stopProbe = Atomic<Bool>(false)
        let probeDone = DispatchSemaphore(value: 0)
        let probe = Thread {
            var sequence = 0
            while !stopProbe.load(ordering: .relaxed) {
                let sent = Clock.monotonic()
                let event = NewEvent(
                    queue: "probe", counter: nil, directory: "/probe", filename: Array("\(sequence)".utf8),
                    kind: .created, timestamp: Clock.now())
                writer.append([event]) { _ in
                    let latency = Clock.monotonic() - sent
                    latencies.withLock { $0.append(latency) }
                }
                sequence += 1
                usleep(5_000)
            }
            probeDone.signal()
        }
        probe.start()

        let reader = try OutboxFile.open(path: path, access: .inspect)
        let firstGone = try reader.prepare("SELECT min(id) FROM events")
        let anyLeft = try reader.prepare(
            "SELECT EXISTS (SELECT 1 FROM events WHERE queue = 'bench')")
        var began: Double?
        var finished: Double?
        while finished == nil {
            if Clock.monotonic() - opened > 900 { throw Failure(description: "prune: not done after 900 s") }
            usleep(10_000)
            if began == nil {
                defer { firstGone.reset() }
                if try firstGone.step(), firstGone.int64(0) != 1 { began = Clock.monotonic() }
            }
            defer { anyLeft.reset() }
            if try anyLeft.step(), anyLeft.int64(0) == 0 { finished = Clock.monotonic() }
        }
        stopProbe.store(true, ordering: .relaxed)
        probeDone.wait()
        writer.flush()
        writer.stop()
        let start = began ?? opened
        return PruneResult(
            seconds: (finished ?? start) - start, startDelay: start - opened, latencies: latencies.withLock { $0 })
    }

    // MARK: - Reporting

    private func report(_ name: String, _ rates: [Double], unit: String, goal: String?, met: Bool) {
        let each = rates.map { format($0, "%.0f") }.joined(separator: ", ")
        var line = "\(name): median \(format(median(rates), "%.0f")) \(unit) (runs: \(each))"
        if let goal { line += " (goal \(goal): \(met ? "met" : "MISSED"))" }
        BenchOutput.line(line)
    }

    private func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    private func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    private func format(_ value: Double, _ format: String) -> String {
        String(format: format, value)
    }

    private func format(_ seconds: Double, ms: Bool) -> String {
        String(format: "%.1f ms", seconds * 1000)
    }

    private func removeOutbox(_ path: String) {
        for suffix in ["", "-wal", "-shm", ".lock"] {
            unlink(path + suffix)
        }
    }
}

/// A small seeded generator (SplitMix64) so every run hands in the same batch sizes.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
