/// One pending event as the forwarder reads it, straight from SQLite's buffers: the closures' bytes are
/// valid only while the `visitPending` callback that was handed the row runs. Not Sendable, and never
/// kept: the row moves on with the statement.
struct PendingEventRow {
    fileprivate let statement: SQLiteStatement

    var id: Int64 { statement.int64(0) }
    var counter: String? { statement.optionalText(1) }
    var hasCounter: Bool { !statement.isNull(1) }
    /// The counter's bytes (empty when there is none).
    func withCounter<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T { statement.withBytes(1, body) }
    func withDirectory<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T { statement.withBytes(2, body) }
    func withFilename<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T { statement.withBytes(3, body) }
    var directory: String { statement.text(2) }
    var filename: [UInt8] { statement.blob(3) }
    var kind: EventKind {
        let exists: StaticString = "exists"
        let existsBytes = UnsafeBufferPointer(start: exists.utf8Start, count: exists.utf8CodeUnitCount)
        return statement.withBytes(4) { bytesEqual($0, existsBytes) } ? .exists : .created
    }
    /// `event_timestamp`: when the watcher saw the file.
    var timestamp: Double { statement.double(5) }
    /// `created_at`: when the event was committed.
    var committedAt: Double { statement.double(6) }
}

extension OutboxStore {
    /// Hands `visit` the oldest pending events of `queue` with an id above `afterID`, at most `limit`, in id
    /// order, until it returns false; returns how many rows it was handed. Reads through the pending
    /// index (see `EventStateSQL`): cheap however many events the outbox holds.
    func visitPending(
        queue: String, afterID: Int64, limit: Int, _ visit: (PendingEventRow) -> Bool
    ) throws(SQLiteError) -> Int {
        let select = try statement(Self.pendingRowsSQL)
        defer { select.reset() }
        try select.bind([.text(queue), .integer(afterID), .integer(Int64(limit))])
        let row = PendingEventRow(statement: select)
        var visited = 0
        while try select.step() {
            visited += 1
            guard visit(row) else { break }
        }
        return visited
    }

    /// The query of `visitPending`, built once: finding its prepared statement builds no SQL.
    private static let pendingRowsSQL = """
        SELECT id, counter, directory, filename, event, event_timestamp, created_at FROM events
        INDEXED BY events_by_queue_state WHERE \(pendingAfter) ORDER BY id LIMIT ?3
        """

    /// How many events are `dead`, over every queue.
    func deadCount() throws(SQLiteError) -> Int {
        let count = try statement("SELECT count(*) FROM events WHERE state = 'dead'")
        defer { count.reset() }
        _ = try count.step()
        return Int(count.int64(0))
    }
}
