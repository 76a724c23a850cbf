import Foundation
import Glibc
import Logging
import Synchronization

@testable import DirectoryObserver

/// One forwarder test's world: its own temporary directory, a fresh outbox with its group-commit writer
/// (which raises `work` after each commit, as in the daemon), a log recorder, and helpers to add events,
/// read rows back through a separate read-only connection, and wait for a condition.
///
/// Not Sendable: a test uses it from its own thread. The writer and a `ForwarderService` run on their own
/// threads, as in the daemon.
final class ForwarderFixture {
    let directory: TemporaryDirectory
    let writer: OutboxWriter
    let work = WakeSignal()
    let logs = LogRecorder()
    let board = QueueLengthBoard()
    /// The directory `exists` events point into (files are created there when a test needs them).
    let watched: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "dirobs-forward")
        watched = directory.appending("watched")
        guard mkdir(watched, 0o755) == 0 else { throw FixtureError(detail: "mkdir \(watched) failed") }
        let work = self.work
        writer = try OutboxWriter(
            settings: OutboxSettings(path: directory.appending("test.outbox.sqlite3")), logger: logs.logger(),
            onCommit: { work.signal() })
    }

    deinit {
        writer.stop()
    }

    var logger: Logger { logs.logger() }

    // MARK: - Settings

    /// Settings that reach `server` with short timeouts and fast retries, unless told otherwise.
    func settings(
        _ server: RedisServer, timeout: Double = 2, retry: RetrySettings = RetrySettings(initial: 0.01, maximum: 0.1),
        batchSize: Int = 100, queueLimits: [String: Int?] = [:], redis: RedisSettings? = nil
    ) -> ForwarderSettings {
        ForwarderSettings(
            redis: redis ?? RedisSettings(endpoint: server.endpoint, password: server.password),
            timeout: timeout, retry: retry, queueLimits: queueLimits, batchSize: batchSize)
    }

    /// The watermark key of `queue` for this outbox (default prefix).
    func watermarkKey(_ queue: String, prefix: String = "directory_observer") -> String {
        "\(prefix):watermark:\(writer.uuid):\(queue)"
    }

    /// The fingerprint key beside the watermark of `queue` (default prefix).
    func fingerprintKey(_ queue: String, prefix: String = "directory_observer") -> String {
        "\(prefix):fingerprint:\(writer.uuid):\(queue)"
    }

    /// The keys the delivery script gets for `queue`, besides the queue and the counter.
    func scriptKeys(_ queue: String) -> ForwardBatch.ScriptKeys {
        ForwardBatch.ScriptKeys(watermark: watermarkKey(queue), fingerprint: fingerprintKey(queue))
    }

    // MARK: - Events

    /// `count` events for `queue`, names `<stem>-<n>.dat` with a few awkward bytes now and then (a quote,
    /// a backslash, a non-UTF-8 byte) so encoding mistakes show.
    static func events(
        queue: String, counter: String?, count: Int, stem: String = "file", kind: EventKind = .created,
        directory: String = "/data/incoming"
    ) -> [NewEvent] {
        (0..<count).map { index in
            var name = Array("\(stem)-\(index).dat".utf8)
            switch index % 7 {
            case 3: name += [0x22, 0x5C]
            case 5: name += [0xFF, 0x41]
            default: break
            }
            return NewEvent(
                queue: queue, counter: counter, directory: directory, filename: name, kind: kind,
                timestamp: 1_764_000_000 + Double(index) / 1000)
        }
    }

    /// The exact message the forwarder must push for an event.
    static func message(_ event: NewEvent) -> [UInt8] {
        EventMessage.encode(
            directory: event.directory, filename: event.filename, event: event.kind.rawValue,
            timestamp: event.timestamp)
    }

    /// Appends `count` events (`events(queue:counter:count:)`) of the queue `jobs`, counted in `jobs:count`,
    /// waits until they are committed and returns them.
    func appendJobs(count: Int) throws -> [NewEvent] {
        let events = Self.events(queue: "jobs", counter: "jobs:count", count: count)
        try append(events)
        return events
    }

    /// Appends events and waits until they are committed.
    func append(_ events: [NewEvent]) throws {
        let committed = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        writer.append(events) { ok in
            committed.withLock { $0 = ok }
            done.signal()
        }
        guard done.wait(timeout: .now() + 30) == .success, committed.withLock({ $0 }) == true else {
            throw FixtureError(detail: "appending \(events.count) events was not committed")
        }
    }

    // MARK: - Reading the outbox

    /// Every row of `queue` (or of every queue), in id order, read through a new read-only connection.
    func rows(queue: String? = nil) throws -> [StoredEvent] {
        let connection = try OutboxFile.open(path: writer.path, access: .inspect)
        defer { try? connection.close() }
        let statement = try connection.prepare(
            "SELECT \(StoredEvent.columns) FROM events WHERE ?1 IS NULL OR queue = ?1 ORDER BY id")
        try statement.bind(queue, at: 1)
        var rows: [StoredEvent] = []
        while try statement.step() { rows.append(StoredEvent(row: statement)) }
        return rows
    }

    /// How many rows of `queue` (or of all queues) are in `state`.
    func count(_ state: EventState, queue: String? = nil) throws -> Int {
        try rows(queue: queue).filter { $0.state == state }.count
    }

    // MARK: - Waiting

    /// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
    @discardableResult
    func wait(seconds: Double = 30, until condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Clock.monotonic() + seconds
        while true {
            if try condition() { return true }
            if Clock.monotonic() >= deadline { return false }
            usleep(10_000)
        }
    }

    /// Waits until no row of any queue is pending.
    @discardableResult
    func waitUntilNothingPending(seconds: Double = 30) throws -> Bool {
        try wait(seconds: seconds) { try count(.pending) == 0 }
    }

    // MARK: - Forwarders

    /// A forwarder service on its own thread, woken by this fixture's writer.
    func service(_ settings: ForwarderSettings) throws -> ForwarderService {
        try ForwarderService(settings: settings, writer: writer, board: board, work: work, logger: logger)
    }

    /// A forwarder driven round by round on the calling thread, with its own read-write connection. When
    /// `wokenByCommits`, it is told of commits through `work`, as the daemon's is (and may say `.caughtUp`).
    func forwarder(_ settings: ForwarderSettings, wokenByCommits: Bool = false) throws -> (Forwarder, OutboxStore) {
        let store = OutboxStore(connection: try OutboxFile.open(path: writer.path, access: .modify))
        let forwarder = Forwarder(
            settings: settings, store: store, writer: writer, board: board, logger: logger,
            newWork: wokenByCommits ? work : nil)
        return (forwarder, store)
    }
}

extension Forwarder {
    /// Runs rounds until one finds nothing pending, waiting 20 ms whenever every queue waits for a retry.
    /// Fails after `limit` rounds.
    func roundsUntilIdle(limit: Int = 50) throws {
        var rounds = 0
        while case let outcome = round(), outcome != .idle {
            if case .waiting = outcome { usleep(20_000) }
            rounds += 1
            if rounds >= limit { throw FixtureError(detail: "still not idle after \(limit) rounds (last: \(outcome))") }
        }
    }
}

// MARK: - Redis helpers

extension RedisServer {
    /// The list read the way a consumer does: RPOP order, oldest first, without removing anything.
    func consumerOrder(_ key: String) throws -> [[UInt8]] {
        try list(key).reversed()
    }

    /// `LLEN key`.
    func length(_ key: String) throws -> Int {
        Int(try command("LLEN", key).integerValue ?? -1)
    }

    /// `GET key` as an integer, nil when the key is missing.
    func integer(_ key: String) throws -> Int64? {
        let reply = try command("GET", key)
        if reply == .null { return nil }
        return reply.integerValue
    }
}

/// A fixture step failed.
struct FixtureError: Error, CustomStringConvertible {
    let detail: String
    var description: String { "test fixture: \(detail)" }
}
