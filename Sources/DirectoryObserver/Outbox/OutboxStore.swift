/// The outbox's rows, through one SQLite connection and statements prepared once. Not Sendable: it
/// lives on the thread that owns its connection (the writer thread, the forwarder thread, or a
/// command's main thread). Methods that write expect the caller to hold a transaction when several
/// must commit together (see `OutboxWriter`).
public final class OutboxStore {
    public let connection: SQLiteConnection
    private var statements: [String: SQLiteStatement] = [:]

    public init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// A statement prepared on first use and reused afterwards.
    func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let statement = statements[sql] {
            statement.reset()
            return statement
        }
        let statement = try connection.prepare(sql)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in one read transaction: its queries see one snapshot of the outbox and take SQLite's
    /// shared-memory locks once, not once per statement. Inside a transaction already, `body` just runs
    /// in it. The transaction ends however `body` ends.
    func reading<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        guard !connection.isInTransaction else { return try body() }
        try statement("BEGIN DEFERRED").run()
        defer {
            // A transaction left open would hold this snapshot for good, and hide every later commit.
            if (try? statement("COMMIT").run()) == nil && connection.isInTransaction {
                try? connection.execute("ROLLBACK")
            }
        }
        return try body()
    }

    /// Finalizes the statements and closes the connection.
    public func close() throws(SQLiteError) {
        statements.removeAll()
        try connection.close()
    }

    // MARK: - Writing

    /// Inserts one pending event and returns its id.
    @discardableResult
    public func insert(_ event: NewEvent, createdAt: Double, replayOf: Int64? = nil) throws(SQLiteError) -> Int64 {
        let insert = try statement(
            """
            INSERT INTO events (queue, counter, directory, filename, event, event_timestamp, created_at, replay_of)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        defer { insert.reset() }
        try insert.bind(event.queue, at: 1)
        try insert.bind(event.counter, at: 2)
        try insert.bind(event.directory, at: 3)
        try insert.bind(event.filename, at: 4)
        try insert.bind(event.kind.rawValue, at: 5)
        try insert.bind(event.timestamp, at: 6)
        try insert.bind(createdAt, at: 7)
        try insert.bind(replayOf, at: 8)
        try insert.step()
        return connection.lastInsertRowID
    }

    /// Rows per multi-row INSERT in `insert(_:createdAt:)`, largest first. One statement run per group
    /// spreads SQLite's per-statement work (starting the VDBE, reading and writing the AUTOINCREMENT
    /// counter in sqlite_sequence, reset) over the group; the smaller size keeps what is left over from
    /// going in a row at a time.
    static let insertGroups = [128, 16]

    private static let insertColumns =
        "INSERT INTO events (queue, counter, directory, filename, event, event_timestamp, created_at, replay_of) "
        + "VALUES "

    /// The multi-row INSERT of each size of `insertGroups`.
    private static let groupInsertSQL = insertGroups.map { size in
        insertColumns + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, NULL)", count: size).joined(separator: ", ")
    }

    /// Inserts pending events in order: their ids ascend in array order, as if inserted one by one.
    public func insert(_ events: [NewEvent], createdAt: Double) throws(SQLiteError) {
        var start = events.startIndex
        for (size, sql) in zip(Self.insertGroups, Self.groupInsertSQL) where events.endIndex - start >= size {
            let insert = try statement(sql)
            while events.endIndex - start >= size {
                var parameter: Int32 = 1
                for event in events[start..<start + size] {
                    try insert.bind(event.queue, at: parameter)
                    try insert.bind(event.counter, at: parameter + 1)
                    try insert.bind(event.directory, at: parameter + 2)
                    try insert.bind(event.filename, at: parameter + 3)
                    try insert.bind(event.kind.rawValue, at: parameter + 4)
                    try insert.bind(event.timestamp, at: parameter + 5)
                    try insert.bind(createdAt, at: parameter + 6)
                    parameter += 7
                }
                defer { insert.reset() }
                try insert.step()
                start += size
            }
        }
        for event in events[start...] {
            try insert(event, createdAt: createdAt)
        }
    }

    /// Marks a forwarded batch: the `skipped` ids first (state `skipped`, with the reason), then every other
    /// pending event of the queue up to `lastID` as delivered, by recording one delivery (see
    /// `EventStateSQL`): the batch's rows themselves are not rewritten. Every pending event of the queue
    /// up to `lastID` counts as delivered afterwards, so a batch must start at the queue's oldest pending
    /// event, as the forwarder's batches do.
    public func markDelivered(
        queue: String, through lastID: Int64, skipped: [SkippedEvent], at time: Double
    ) throws(SQLiteError) {
        let skip = try statement(
            "UPDATE events SET state = 'skipped', last_error = ?, delivered_at = ? WHERE id = ? AND state = 'pending'")
        for event in skipped {
            try skip.run([.text(event.reason), .real(time), .integer(event.id)])
        }
        try recordDelivery(queue: queue, through: lastID, at: time)
    }

    /// Marks delivered every pending event of `queue` up to `id`: the Redis watermark says they are in.
    /// The delivery recorded ends at the last of them, so events added later are never covered by it.
    /// Returns how many events that delivered.
    @discardableResult
    public func markDelivered(queue: String, upTo id: Int64, at time: Double) throws(SQLiteError) -> Int {
        let covered = try statement(
            """
            SELECT count(*), max(id) FROM events INDEXED BY events_by_queue_state
            WHERE \(Self.pendingAfter) AND id <= ?3
            """)
        try covered.bind([.text(queue), .integer(0), .integer(id)])
        let (count, last) = try covered.step() ? (Int(covered.int64(0)), covered.optionalInt64(1)) : (0, nil)
        covered.reset()
        if let last { try recordDelivery(queue: queue, through: last, at: time) }
        return count
    }

    /// Records that the pending events of `queue` up to `id` are delivered at `time`. Deliveries of one
    /// queue within the same second of the clock share one row: the queue's last delivery is extended
    /// (through `id`, dated `time`) when it was made earlier in that second, and a row is added otherwise.
    /// At a steady trickle every event is a batch of its own, and a row per event would grow the outbox
    /// by a row per event for the whole retention; a row per second still ages, so pruning goes on. The
    /// events of a shared row read as delivered at its latest time, less than a second late. A delivery
    /// at or below the queue's last one changes nothing (it would only misdate events delivered earlier).
    private func recordDelivery(queue: String, through id: Int64, at time: Double) throws(SQLiteError) {
        let extend = try statement(
            """
            UPDATE deliveries SET through_id = ?2, delivered_at = ?3
            WHERE queue = ?1 AND through_id = \(EventStateSQL.deliveredThrough(queueParameter: 1))
                AND through_id < ?2 AND delivered_at <= ?3 AND CAST(delivered_at AS INTEGER) = CAST(?3 AS INTEGER)
            """)
        try extend.run([.text(queue), .integer(id), .real(time)])
        guard connection.changes == 0 else { return }
        let insert = try statement(
            """
            INSERT INTO deliveries (queue, through_id, delivered_at)
            SELECT ?1, ?2, ?3 WHERE ?2 > \(EventStateSQL.deliveredThrough(queueParameter: 1))
            """)
        try insert.run([.text(queue), .integer(id), .real(time)])
    }

    /// Counts one failed try for the pending events of `queue` in `ids`; those that reach `maxAttempts`
    /// become `dead`. Returns how many went dead. Events already delivered are never touched, even if
    /// `ids` reaches below the queue's last delivery.
    @discardableResult
    public func recordFailure(
        queue: String, ids: ClosedRange<Int64>, error: String, maxAttempts: Int
    ) throws(SQLiteError) -> Int {
        let inBatch = "\(Self.pendingAfter) AND id <= ?3"
        let bump = try statement(
            "UPDATE events SET attempts = attempts + 1, last_error = ?4 WHERE \(inBatch)")
        try bump.run([.text(queue), .integer(ids.lowerBound - 1), .integer(ids.upperBound), .text(error)])
        let kill = try statement("UPDATE events SET state = 'dead' WHERE \(inBatch) AND attempts >= ?4")
        try kill.run([
            .text(queue), .integer(ids.lowerBound - 1), .integer(ids.upperBound), .integer(Int64(maxAttempts)),
        ])
        return connection.changes
    }

    /// One step of pruning: deletes at most `limit` delivered or skipped events settled before `cutoff`,
    /// oldest first, queue by queue, then the deliveries no remaining event needs. Per queue it looks at
    /// the oldest `scanLimit` deliveries and goes up to the last one older than `cutoff`: every event of
    /// the queue up to it was settled by then (dead events are kept). The newest delivery of a queue is
    /// kept: it says how far the queue is delivered. A step reads at most `scanLimit` deliveries per queue
    /// and deletes at most `limit` events, however many events the outbox holds.
    public func prune(settledBefore cutoff: Double, limit: Int, scanLimit: Int) throws(SQLiteError) -> PruneStep {
        var step = PruneStep(deleted: 0, finished: true)
        var budget = limit
        for queue in try distinctQueues(in: .deliveries) {
            guard let bound = try pruneBound(queue: queue, cutoff: cutoff, scanLimit: scanLimit) else { continue }
            for state in ["pending", "skipped", "delivered"] {
                let delete = try statement(
                    """
                    DELETE FROM events WHERE id IN (
                        SELECT id FROM events INDEXED BY events_by_queue_state
                        WHERE queue = ?1 AND state = '\(state)' AND id <= ?2
                            AND (delivered_at IS NULL OR delivered_at < ?3)
                        ORDER BY id LIMIT ?4)
                    """)
                try delete.run([.text(queue), .integer(bound), .real(cutoff), .integer(Int64(budget))])
                let deleted = connection.changes
                step.deleted += deleted
                budget -= deleted
                if budget == 0 {
                    step.finished = false
                    return step
                }
            }
            let forget = try statement("DELETE FROM deliveries WHERE queue = ? AND through_id < ?")
            try forget.run([.text(queue), .integer(bound)])
            if connection.changes > 0 { step.finished = false }
        }
        if step.deleted > 0 { step.finished = false }
        return step
    }

    /// When the oldest delivery made at or after `cutoff` was recorded (Unix time), or nil when there is
    /// none: the next pruning step can find work once that delivery is older than the retention.
    public func oldestDeliveryTime(notBefore cutoff: Double) throws(SQLiteError) -> Double? {
        let select = try statement("SELECT min(delivered_at) FROM deliveries WHERE delivered_at >= ?")
        defer { select.reset() }
        try select.bind([.real(cutoff)])
        guard try select.step(), case .real(let time) = select.value(0) else { return nil }
        return time
    }

    /// The through_id of the last of `queue`'s oldest `scanLimit` deliveries made before `cutoff`, or nil.
    private func pruneBound(queue: String, cutoff: Double, scanLimit: Int) throws(SQLiteError) -> Int64? {
        let scan = try statement(
            "SELECT through_id, delivered_at FROM deliveries WHERE queue = ? ORDER BY through_id LIMIT ?")
        defer { scan.reset() }
        try scan.bind([.text(queue), .integer(Int64(scanLimit))])
        var bound: Int64?
        while try scan.step(), scan.double(1) < cutoff {
            bound = scan.int64(0)
        }
        return bound
    }

    // MARK: - Reading

    /// The condition for the pending events of the queue bound to `?1` with an id above `?2`, in the
    /// index's order (see `EventStateSQL`).
    ///
    /// Queries on events say `INDEXED BY events_by_queue_state`: the outbox is never ANALYZEd, and without
    /// statistics SQLite may pick a plan that walks every row, which would make draining a large backlog
    /// quadratic.
    static let pendingAfter =
        "queue = ?1 AND state = 'pending' AND id > max(?2, \(EventStateSQL.deliveredThrough(queueParameter: 1)))"

    /// The oldest pending events of `queue` with an id above `afterID`, at most `limit`, in id order.
    public func pendingBatch(queue: String, afterID: Int64, limit: Int) throws(SQLiteError) -> [StoredEvent] {
        let select = try statement(
            """
            SELECT \(StoredEvent.pendingColumns) FROM events INDEXED BY events_by_queue_state
            WHERE \(Self.pendingAfter) ORDER BY id LIMIT ?3
            """)
        defer { select.reset() }
        try select.bind([.text(queue), .integer(afterID), .integer(Int64(limit))])
        var events: [StoredEvent] = []
        while try select.step() {
            events.append(StoredEvent(row: select))
        }
        return events
    }

    /// A table whose rows name a queue.
    enum QueueTable {
        case events
        case deliveries

        /// The first queue name above `?1`, through the table's index; kept as one string per table, so
        /// finding the prepared statement builds no SQL.
        var nextQueueSQL: String {
            switch self {
            case .events: Self.nextInEvents
            case .deliveries: Self.nextInDeliveries
            }
        }

        private static let nextInEvents =
            "SELECT queue FROM events INDEXED BY events_by_queue_state WHERE queue > ? ORDER BY queue LIMIT 1"
        private static let nextInDeliveries = "SELECT queue FROM deliveries WHERE queue > ? ORDER BY queue LIMIT 1"
    }

    /// The distinct queue names of `table`, in name order, one index probe each.
    func distinctQueues(in table: QueueTable) throws(SQLiteError) -> [String] {
        let next = try statement(table.nextQueueSQL)
        var queues: [String] = []
        var after = ""
        while true {
            try next.bind(after, at: 1)
            let found = try next.step() ? next.text(0) : nil
            next.reset()
            guard let found else { return queues }
            queues.append(found)
            after = found
        }
    }

    /// The highest id the outbox ever handed out (AUTOINCREMENT's counter), 0 for a new outbox.
    public func highestIDEverIssued() throws(SQLiteError) -> Int64 {
        let select = try statement("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        defer { select.reset() }
        return try select.step() ? select.int64(0) : 0
    }

    /// The id of the oldest pending event of `queue`, or nil when none is pending.
    public func oldestPendingID(queue: String) throws(SQLiteError) -> Int64? {
        let select = try statement(
            "SELECT id FROM events INDEXED BY events_by_queue_state WHERE \(Self.pendingAfter) ORDER BY id LIMIT 1")
        defer { select.reset() }
        try select.bind([.text(queue), .integer(0)])
        return try select.step() ? select.int64(0) : nil
    }

    /// The number of pending events of `queue`, or of every queue when nil.
    public func pendingCount(queue: String? = nil) throws(SQLiteError) -> Int {
        guard let queue else {
            var total = 0
            for queue in try distinctQueues(in: .events) { total += try pendingCount(queue: queue) }
            return total
        }
        let count = try statement("SELECT count(*) FROM events INDEXED BY events_by_queue_state WHERE \(Self.pendingAfter)")
        defer { count.reset() }
        try count.bind([.text(queue), .integer(0)])
        _ = try count.step()
        return Int(count.int64(0))
    }

    /// The names that have a pending event for `queue` from `directory`.
    public func pendingNames(queue: String, directory: String) throws(SQLiteError) -> Set<[UInt8]> {
        let select = try statement(
            "SELECT filename FROM events INDEXED BY events_by_queue_state WHERE \(Self.pendingAfter) AND directory = ?3")
        defer { select.reset() }
        try select.bind([.text(queue), .integer(0), .text(directory)])
        var names: Set<[UInt8]> = []
        while try select.step() {
            names.insert(select.blob(0))
        }
        return names
    }

    /// One event by id, or nil.
    public func event(id: Int64) throws(SQLiteError) -> StoredEvent? {
        let select = try statement("SELECT \(StoredEvent.columns) FROM events WHERE id = ?")
        defer { select.reset() }
        try select.bind(id, at: 1)
        return try select.step() ? StoredEvent(row: select) : nil
    }
}

/// What one pruning step did (see `OutboxStore.prune(settledBefore:limit:scanLimit:)`).
public struct PruneStep: Sendable, Equatable {
    /// Events deleted.
    public var deleted: Int
    /// True when the step deleted nothing, neither events nor deliveries: the next one can wait.
    public var finished: Bool
}

/// An event of a forwarded batch that was not pushed on purpose, and why.
public struct SkippedEvent: Sendable, Equatable {
    public var id: Int64
    public var reason: String
}

extension StoredEvent {
    /// The columns `init(row:)` reads, in order.
    static let columns =
        "events.id, events.queue, events.counter, events.directory, events.filename, events.event, "
        + "events.event_timestamp, \(EventStateSQL.state), events.attempts, events.last_error, events.created_at, "
        + "\(EventStateSQL.deliveredAt), events.replay_of"

    /// `columns` for rows known to be pending: the stored columns, without looking up deliveries.
    static let pendingColumns =
        "id, queue, counter, directory, filename, event, event_timestamp, 'pending', attempts, last_error, "
        + "created_at, NULL, replay_of"

    /// Reads the current row of a statement that selected `columns` (or `pendingColumns`).
    init(row: SQLiteStatement) {
        self.init(
            id: row.int64(0),
            event: NewEvent(
                queue: row.text(1), counter: row.optionalText(2), directory: row.text(3), filename: row.blob(4),
                kind: EventKind(rawValue: row.text(5)) ?? .created, timestamp: row.double(6)),
            state: EventState(rawValue: row.text(7)) ?? .pending, attempts: Int(row.int64(8)),
            lastError: row.optionalText(9), createdAt: row.double(10), deliveredAt: row.optionalDouble(11),
            replayOf: row.optionalInt64(12))
    }
}
