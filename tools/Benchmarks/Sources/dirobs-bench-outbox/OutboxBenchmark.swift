import DirectoryObserver
import Foundation
import Glibc
import Logging

/// Throughput of the outbox's write and read paths, measured on outboxes of its own in `directory`:
///
/// - append: `events` events handed to an `OutboxWriter` by one producer thread in batches of 1–1000,
///   timed until `flush` returns (everything committed), with `synchronous=FULL` and `NORMAL`;
/// - read + mark delivered: what the forwarder does, on the outbox the FULL append left: `pendingBatch`
///   4096 at a time on a read-only connection, each batch marked delivered through the writer;
/// - prune (`OutboxBenchmark+Prune.swift`): delivered events pruned by the writer while a probe appends.
///
/// The first two are run `runs` times, each rate kept for the report's median; the prune runs once.
struct OutboxBenchmark {
    let options: OutboxBenchmarkOptions
    /// Where the outboxes go: `--dir`, else a new directory under the temporary directory.
    let directory: String
    let logger: Logger = {
        var logger = Logger(label: "dirobs-bench-outbox")
        logger.logLevel = .warning
        return logger
    }()

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Events per second of each run.
    struct AppendAndRead {
        var appendFull: [Double] = []
        var appendNormal: [Double] = []
        var readMark: [Double] = []
    }

    init(options: OutboxBenchmarkOptions) {
        self.options = options
        directory = options.directory ?? FileManager.default.temporaryDirectory.path + "/dirobs-bench-\(getpid())"
    }

    /// Runs `body` with `directory` in place; removes the directory afterwards when it made it.
    func inWorkingDirectory(_ body: () throws -> Void) throws {
        let madeDirectory = !FileManager.default.fileExists(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if madeDirectory { try? FileManager.default.removeItem(atPath: directory) } }
        try body()
    }

    // MARK: - Append, read + mark delivered

    func measureAppendAndRead() throws -> AppendAndRead {
        var rates = AppendAndRead()
        for run in 1...options.runs {
            for sync in [OutboxSettings.Sync.full, .normal] {
                let path = "\(directory)/append-\(sync.rawValue)-\(run).sqlite3"
                defer { removeOutbox(path) }
                let writer = try OutboxWriter(settings: OutboxSettings(path: path, sync: sync), logger: logger)
                defer { writer.stop() }
                let seconds = try appendRun(writer, seed: UInt64(run))
                let rate = Double(options.events) / seconds
                if sync == .full {
                    rates.appendFull.append(rate)
                    let readSeconds = try readAndMarkRun(writer, path: path)
                    rates.readMark.append(Double(options.events) / readSeconds)
                } else {
                    rates.appendNormal.append(rate)
                }
            }
        }
        return rates
    }

    /// Hands every event to the writer in batches of 1–1000 and returns the seconds until all committed.
    private func appendRun(_ writer: OutboxWriter, seed: UInt64) throws -> Double {
        let events = options.events
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
            guard let last = batch.last else { break }
            writer.markDelivered(queue: "bench", through: last.id, skipped: [])
            after = last.id
            read += batch.count
        }
        guard writer.flush(timeout: 600) else { throw Failure(description: "read: flush timed out") }
        let seconds = Clock.monotonic() - start
        let left = try reader.pendingCount()
        guard read == options.events, left == 0 else {
            throw Failure(
                description: "read: \(read) events read, \(left) still pending; expected \(options.events) and 0")
        }
        return seconds
    }

    func removeOutbox(_ path: String) {
        for suffix in ["", "-wal", "-shm", ".lock"] {
            unlink(path + suffix)
        }
    }
}
