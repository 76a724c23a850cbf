import DirectoryObserver
import Foundation

/// One outbox row as the watching tests look at it.
struct OutboxRow: Sendable, Equatable, CustomStringConvertible {
    let id: Int64
    let queue: String
    let directory: String
    /// The name as UTF-8 text (the tests only make ASCII names).
    let filename: String
    /// `created` or `exists`.
    let event: String
    let state: String
    let eventTimestamp: Double
    /// When the writer committed the row (Unix time).
    let createdAt: Double

    var description: String { "#\(id) \(event) \(filename) [\(state)]" }
}

/// Reads an outbox the way an operator's tool does: a read-only connection opened with
/// `OutboxFile.open(path:access: .inspect)` for each look, so it sees exactly what was committed.
enum OutboxRows {
    /// Every row, in id order.
    static func all(in path: String) throws -> [OutboxRow] {
        let connection = try OutboxFile.open(path: path, access: .inspect)
        let select = try connection.prepare(
            """
            SELECT id, queue, directory, filename, event, \(EventStateSQL.state), event_timestamp, created_at
            FROM events ORDER BY id
            """)
        var rows: [OutboxRow] = []
        while try select.step() {
            rows.append(
                OutboxRow(
                    id: select.int64(0), queue: select.text(1), directory: select.text(2),
                    filename: String(decoding: select.blob(3), as: UTF8.self), event: select.text(4),
                    state: select.text(5), eventTimestamp: select.double(6), createdAt: select.double(7)))
        }
        return rows
    }

    /// The number of rows, without reading them (for the 100,000-file burst).
    static func count(in path: String) throws -> Int {
        let connection = try OutboxFile.open(path: path, access: .inspect)
        return Int(try connection.integer("SELECT count(*) FROM events"))
    }
}

/// Polls `probe` until it returns a value, every 20 ms, for at most `seconds`; nil when time ran out.
/// Tests wait for what they expect instead of sleeping a fixed time.
func eventually<T>(within seconds: Double, _ probe: () throws -> T?) async throws -> T? {
    let deadline = Clock.monotonic() + seconds
    while true {
        if let value = try probe() { return value }
        if Clock.monotonic() >= deadline { return nil }
        try await Task.sleep(for: .milliseconds(20))
    }
}
