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

    /// Rows per multi-row INSERT in `insert(_:createdAt:)`. One statement run per group spreads SQLite's
    /// per-statement work (starting the VDBE, reading and writing the AUTOINCREMENT counter in
    /// sqlite_sequence, reset) over the group: measured at about half the CPU of a row inserted alone.
    static let insertGroup = 128

    private static let insertColumns =
        "INSERT INTO events (queue, counter, directory, filename, event, event_timestamp, created_at, replay_of) "
        + "VALUES "

    private static let groupInsertSQL =
        insertColumns + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, NULL)", count: insertGroup).joined(separator: ", ")

    /// Inserts pending events in order: their ids ascend in array order, as if inserted one by one.
    public func insert(_ events: [NewEvent], createdAt: Double) throws(SQLiteError) {
        var start = events.startIndex
        if events.count - start >= Self.insertGroup {
            let insert = try statement(Self.groupInsertSQL)
            while events.endIndex - start >= Self.insertGroup {
                var parameter: Int32 = 1
                for event in events[start..<start + Self.insertGroup] {
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
                start += Self.insertGroup
            }
        }
        for event in events[start...] {
            try insert(event, createdAt: createdAt)
        }
    }

    /// Marks a forwarded batch: `skipped` ids first, then every other pending event of the queue whose id
    /// lies in `ids` as delivered.
    public func markDelivered(
        queue: String, ids: ClosedRange<Int64>, skipped: [SkippedEvent], at time: Double
    ) throws(SQLiteError) {
        let skip = try statement(
            "UPDATE events SET state = 'skipped', last_error = ?, delivered_at = ? WHERE id = ? AND state = 'pending'")
        for event in skipped {
            try skip.run([.text(event.reason), .real(time), .integer(event.id)])
        }
        let deliver = try statement(
            """
            UPDATE events SET state = 'delivered', delivered_at = ?
            WHERE queue = ? AND state = 'pending' AND id BETWEEN ? AND ?
            """)
        try deliver.run([.real(time), .text(queue), .integer(ids.lowerBound), .integer(ids.upperBound)])
    }

    /// Marks delivered every pending event of `queue` up to `id`: the Redis watermark says they are in.
    /// Returns how many rows changed.
    @discardableResult
    public func markDelivered(queue: String, upTo id: Int64, at time: Double) throws(SQLiteError) -> Int {
        let deliver = try statement(
            "UPDATE events SET state = 'delivered', delivered_at = ? WHERE queue = ? AND state = 'pending' AND id <= ?")
        try deliver.run([.real(time), .text(queue), .integer(id)])
        return connection.changes
    }

    /// Counts one failed try for the pending events of `queue` in `ids`; those that reach `maxAttempts`
    /// become `dead`. Returns how many went dead.
    @discardableResult
    public func recordFailure(
        queue: String, ids: ClosedRange<Int64>, error: String, maxAttempts: Int
    ) throws(SQLiteError) -> Int {
        let bump = try statement(
            """
            UPDATE events SET attempts = attempts + 1, last_error = ?
            WHERE queue = ? AND state = 'pending' AND id BETWEEN ? AND ?
            """)
        try bump.run([.text(error), .text(queue), .integer(ids.lowerBound), .integer(ids.upperBound)])
        let kill = try statement(
            """
            UPDATE events SET state = 'dead'
            WHERE queue = ? AND state = 'pending' AND id BETWEEN ? AND ? AND attempts >= ?
            """)
        try kill.run([.text(queue), .integer(ids.lowerBound), .integer(ids.upperBound), .integer(Int64(maxAttempts))])
        return connection.changes
    }

    /// One step of pruning: looks at up to `scanLimit` events in id order after `afterID` and deletes the
    /// delivered or skipped ones settled before `cutoff`. Events are created in id order and settled after
    /// they are created, so the walk stops at the first event created at or after `cutoff`: nothing from
    /// there on can be prunable yet. There is no index on `delivered_at` on purpose (it would move on
    /// every delivery); this walk reads the table in rowid order, a few microseconds per row.
    public func prune(settledBefore cutoff: Double, after afterID: Int64, scanLimit: Int) throws(SQLiteError)
        -> PruneStep
    {
        let scan = try statement(
            "SELECT id, state, delivered_at, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?")
        var doomed: [Int64] = []
        var step = PruneStep(deleted: 0, lastID: afterID, finished: false)
        var scanned = 0
        try scan.bind([.integer(afterID), .integer(Int64(scanLimit))])
        while try scan.step() {
            scanned += 1
            if scan.double(3) >= cutoff {
                step.finished = true
                break
            }
            step.lastID = scan.int64(0)
            let state = scan.text(1)
            if (state == EventState.delivered.rawValue || state == EventState.skipped.rawValue)
                && !scan.isNull(2) && scan.double(2) < cutoff
            {
                doomed.append(step.lastID)
            }
        }
        scan.reset()
        if scanned < scanLimit { step.finished = true }
        let delete = try statement("DELETE FROM events WHERE id = ?")
        for id in doomed {
            try delete.run([.integer(id)])
        }
        step.deleted = doomed.count
        return step
    }

    // MARK: - Reading

    /// The oldest pending events of `queue` with an id above `afterID`, at most `limit`, in id order.
    public func pendingBatch(queue: String, afterID: Int64, limit: Int) throws(SQLiteError) -> [StoredEvent] {
        let select = try statement(
            """
            SELECT \(StoredEvent.columns) FROM events INDEXED BY events_pending_by_queue
            WHERE queue = ? AND state = 'pending' AND id > ? ORDER BY id LIMIT ?
            """)
        defer { select.reset() }
        try select.bind([.text(queue), .integer(afterID), .integer(Int64(limit))])
        var events: [StoredEvent] = []
        while try select.step() {
            events.append(StoredEvent(row: select))
        }
        return events
    }

    /// Every queue that has at least one pending event, in name order (an index skip-scan: cheap even
    /// with a million pending events).
    ///
    /// Queries on pending events say `INDEXED BY events_pending_by_queue`: the outbox is never ANALYZEd,
    /// and without statistics SQLite may pick another index and walk every pending row (three such scans
    /// per forwarder round once made draining a 1,000,000-event backlog quadratic).
    public func queuesWithPending() throws(SQLiteError) -> [String] {
        let next = try statement(
            """
            SELECT queue FROM events INDEXED BY events_pending_by_queue
            WHERE state = 'pending' AND queue > ? ORDER BY queue LIMIT 1
            """)
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
            "SELECT min(id) FROM events INDEXED BY events_pending_by_queue WHERE queue = ? AND state = 'pending'")
        defer { select.reset() }
        try select.bind(queue, at: 1)
        return try select.step() ? select.optionalInt64(0) : nil
    }

    /// The number of pending events of `queue`, or of every queue when nil.
    public func pendingCount(queue: String? = nil) throws(SQLiteError) -> Int {
        if let queue {
            let count = try statement(
                "SELECT count(*) FROM events INDEXED BY events_pending_by_queue WHERE queue = ? AND state = 'pending'")
            defer { count.reset() }
            try count.bind(queue, at: 1)
            _ = try count.step()
            return Int(count.int64(0))
        }
        let count = try statement("SELECT count(*) FROM events INDEXED BY events_pending_by_queue WHERE state = 'pending'")
        defer { count.reset() }
        _ = try count.step()
        return Int(count.int64(0))
    }

    /// The names that have a pending event for `queue` from `directory`.
    public func pendingNames(queue: String, directory: String) throws(SQLiteError) -> Set<[UInt8]> {
        let select = try statement(
            """
            SELECT filename FROM events INDEXED BY events_pending_by_queue
            WHERE queue = ? AND state = 'pending' AND directory = ?
            """)
        defer { select.reset() }
        try select.bind([.text(queue), .text(directory)])
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

/// What one pruning step did (see `OutboxStore.prune(settledBefore:after:scanLimit:)`).
public struct PruneStep: Sendable, Equatable {
    /// Events deleted.
    public var deleted: Int
    /// The last id looked at: the next step starts after it.
    public var lastID: Int64
    /// True when the walk reached the end of the table or the first event too young to prune.
    public var finished: Bool

    public init(deleted: Int, lastID: Int64, finished: Bool) {
        self.deleted = deleted
        self.lastID = lastID
        self.finished = finished
    }
}

/// An event of a forwarded batch that was not pushed on purpose, and why.
public struct SkippedEvent: Sendable, Equatable {
    public var id: Int64
    public var reason: String

    public init(id: Int64, reason: String) {
        self.id = id
        self.reason = reason
    }
}

extension StoredEvent {
    /// The columns `init(row:)` reads, in order.
    static let columns =
        "id, queue, counter, directory, filename, event, event_timestamp, state, attempts, last_error, "
        + "created_at, delivered_at, replay_of"

    /// Reads the current row of a statement that selected `columns`.
    init(row: SQLiteStatement) {
        self.init(
            id: row.int64(0), queue: row.text(1), counter: row.optionalText(2), directory: row.text(3),
            filename: row.blob(4), kind: EventKind(rawValue: row.text(5)) ?? .created, timestamp: row.double(6),
            state: EventState(rawValue: row.text(7)) ?? .pending, attempts: Int(row.int64(8)),
            lastError: row.optionalText(9), createdAt: row.double(10), deliveredAt: row.optionalDouble(11),
            replayOf: row.optionalInt64(12))
    }
}
