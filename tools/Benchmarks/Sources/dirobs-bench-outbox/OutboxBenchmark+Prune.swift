import DirectoryObserver
import Foundation
import Glibc
import Synchronization

extension OutboxBenchmark {
    /// How long the writer took to prune, and how long each probe append waited for its commit meanwhile.
    struct Prune {
        var seconds: Double
        var startDelay: Double
        var latencies: [Double]
    }

    /// Fills an outbox with `pruneRows` delivered events settled two hours ago, opens a writer with a
    /// one-hour retention and times its pruning while a probe thread appends one event every 5 ms and
    /// measures the commit latency of each.
    func measurePrune() throws -> Prune {
        let path = "\(directory)/prune.sqlite3"
        defer { removeOutbox(path) }
        try fillDelivered(path: path, settled: Clock.now() - 7_200)
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

        let (began, finished) = try watchPruning(path: path, since: opened)
        stopProbe.store(true, ordering: .relaxed)
        probeDone.wait()
        writer.flush()
        writer.stop()
        let start = began ?? opened
        return Prune(seconds: finished - start, startDelay: start - opened, latencies: latencies.withLock { $0 })
    }

    /// A new outbox at `path` holding `pruneRows` events, delivered at `settled` the way the forwarder
    /// delivers a backlog: 4096 events a batch.
    private func fillDelivered(path: String, settled: Double) throws {
        let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon, sync: .normal))
        try store.connection.transaction { () throws(SQLiteError) in
            let fill = try store.connection.prepare(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                INSERT INTO events (queue, directory, filename, event, event_timestamp, created_at)
                SELECT 'bench', '/data/incoming', CAST('file-' || i || '.dat' AS BLOB), 'created', ?, ?
                FROM n
                """)
            try fill.run([.integer(Int64(options.pruneRows)), .real(settled), .real(settled)])
            for through in Array(stride(from: 4_096, to: options.pruneRows, by: 4_096)) + [options.pruneRows] {
                try store.markDelivered(queue: "bench", through: Int64(through), skipped: [], at: settled)
            }
        }
        try store.close()
    }

    /// Polls the outbox every 10 ms on a read-only connection: when the first event is gone (pruning
    /// began, if seen) and when no benchmark event is left (finished), in monotonic time.
    private func watchPruning(path: String, since opened: Double) throws -> (began: Double?, finished: Double) {
        let reader = try OutboxFile.open(path: path, access: .inspect)
        let firstGone = try reader.prepare("SELECT min(id) FROM events")
        let anyLeft = try reader.prepare("SELECT EXISTS (SELECT 1 FROM events WHERE queue = 'bench')")
        var began: Double?
        while true {
            if Clock.monotonic() - opened > 900 { throw Failure(description: "prune: not done after 900 s") }
            usleep(10_000)
            if began == nil {
                defer { firstGone.reset() }
                if try firstGone.step(), firstGone.int64(0) != 1 { began = Clock.monotonic() }
            }
            defer { anyLeft.reset() }
            if try anyLeft.step(), anyLeft.int64(0) == 0 { return (began, Clock.monotonic()) }
        }
    }
}
