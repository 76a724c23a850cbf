import Foundation

@testable import DirectoryObserver

/// A fresh outbox in its own temporary directory, created the way the daemon creates one, with helpers to
/// add events in any state. The directory is removed when the fixture goes away.
final class OutboxFixture {
    let directory: String
    let path: String
    private let store: OutboxStore

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("dirobs-tools-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        path = directory + "/test.outbox.sqlite3"
        store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
    }

    deinit {
        try? store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Adds one event and puts it in `state`; returns its id.
    @discardableResult
    func add(
        queue: String = "q", state: EventState = .pending, timestamp: Double = 1_795_514_400,
        filename: [UInt8] = Array("file.dat".utf8), directory: String = "/data/in", kind: EventKind = .created,
        counter: String? = nil, createdAt: Double? = nil, attempts: Int = 0, lastError: String? = nil
    ) throws(SQLiteError) -> Int64 {
        let event = NewEvent(
            queue: queue, counter: counter, directory: directory, filename: filename, kind: kind, timestamp: timestamp)
        let id = try store.insert(event, createdAt: createdAt ?? timestamp)
        try store.connection.prepare(
            "UPDATE events SET state = ?, attempts = ?, last_error = ?, delivered_at = ? WHERE id = ?"
        ).run([
            .text(state.rawValue), .integer(Int64(attempts)), lastError.map { .text($0) } ?? .null,
            state == .pending ? .null : .real(timestamp), .integer(id),
        ])
        return id
    }

    /// Adds `count` events in one transaction, all alike but for the file name (`file-N`).
    func addMany(_ count: Int, queue: String = "q", state: EventState) throws {
        try store.connection.transaction { () throws(SQLiteError) in
            for index in 0..<count {
                try add(
                    queue: queue, state: state, timestamp: 1_795_514_400 + Double(index),
                    filename: Array("file-\(index)".utf8))
            }
        }
    }

    /// Every row, in id order.
    func rows() throws -> [StoredEvent] {
        let select = try store.connection.prepare("SELECT \(StoredEvent.columns) FROM events ORDER BY id")
        var rows: [StoredEvent] = []
        while try select.step() { rows.append(StoredEvent(row: select)) }
        return rows
    }

    /// The outbox's UUID.
    func uuid() throws -> String { try OutboxFile.uuid(of: store.connection) }
}
