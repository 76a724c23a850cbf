/// Changes an operator asks for while the daemon may be running: `outbox purge` and `replay`. It opens the
/// outbox read-write without ever creating or migrating it, and works in short `BEGIN IMMEDIATE`
/// transactions of at most `chunkSize` events, waiting on the busy timeout when the daemon's writer holds
/// the lock, so the daemon is never held up for long. Not Sendable: used on the thread that made it.
public final class OutboxMaintenance {
    /// Events per transaction: small enough that the daemon's writer waits milliseconds, not seconds.
    public static let chunkSize = 5_000

    public let path: String
    private let store: OutboxStore
    private let clock: @Sendable () -> Double

    /// Opens the outbox at `path` for changes; throws `OutboxError` without touching a file it cannot read
    /// as an outbox. `busyTimeout` (seconds) is how long a transaction waits for the daemon's writer.
    public init(path: String, busyTimeout: Double = 5, clock: @escaping @Sendable () -> Double = Clock.now)
        throws(OutboxError)
    {
        self.path = path
        self.clock = clock
        let connection = try OutboxFile.open(path: path, access: .modify)
        store = OutboxStore(connection: connection)
        connection.setBusyTimeout(milliseconds: Int32(clamping: Int(busyTimeout * 1000)))
    }

    deinit {
        try? store.close()
    }

    // MARK: - Purge

    /// Deletes the events in `state` (of `queue` when given) whose `event_timestamp` is older than
    /// `cutoff` when given; returns how many. Pending events are refused: they have not been delivered.
    /// It goes queue by queue, so every chunk is found through the index on (queue, state) instead of a
    /// walk of the whole table inside a write transaction.
    public func purge(state: EventState, queue: String? = nil, olderThan cutoff: Double? = nil) throws(OutboxError)
        -> Int
    {
        guard state != .pending else {
            throw OutboxError(
                path: path, reason: .refused("purge refuses pending events: they have not been delivered yet"))
        }
        var queues = [String]()
        if let queue {
            queues = [queue]
        } else {
            queues = try reading { () throws(SQLiteError) in try store.distinctQueues(in: .events) }
        }
        var deleted = 0
        for queue in queues {
            deleted += try purge(state: state, queue: queue, olderThan: cutoff)
        }
        return deleted
    }

    private func purge(state: EventState, queue: String, olderThan cutoff: Double?) throws(OutboxError) -> Int {
        var (condition, values) = EventFilter(queue: queue, state: state).condition
        if let cutoff {
            condition += " AND event_timestamp < ?"
            values.append(.real(cutoff))
        }
        let sql = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE \(condition) LIMIT \(Self.chunkSize))"
        var deleted = 0
        while true {
            let changed = try writing { () throws(SQLiteError) in
                try store.statement(sql).run(values)
                return store.connection.changes
            }
            deleted += changed
            if changed < Self.chunkSize { return deleted }
        }
    }

    // MARK: - Replay

    /// Copies the events matching `filter` into new pending events, oldest first: new ids (so they sit
    /// above the Redis watermark), `replay_of` = the original id, the same queue, counter, directory, file
    /// name, event and `event_timestamp`, hence the same message. A `dead` event's row is deleted in the
    /// same transaction as its copy is inserted: it moves to the end of its queue. Every id in
    /// `filter.ids` must exist (`.unknownEvent` otherwise, before anything changes). With `dryRun` nothing
    /// changes. Returns how many events were (or would be) replayed.
    public func replay(matching filter: EventFilter, dryRun: Bool = false) throws(OutboxError) -> Int {
        try checkIDsExist(filter.ids)
        let (condition, values) = filter.condition
        // Copies get ids above this, so a filter that matches them (e.g. state pending) cannot loop.
        let lastID = try reading { () throws(SQLiteError) in
            try store.connection.integer("SELECT coalesce(max(id), 0) FROM events")
        }
        if dryRun {
            return try reading { () throws(SQLiteError) in
                Int(
                    try store.connection.integer(
                        "SELECT count(*) FROM events WHERE \(condition) AND id <= ?", values + [.integer(lastID)]))
            }
        }
        let select =
            "SELECT \(StoredEvent.columns) FROM events WHERE \(condition) AND id > ? AND id <= ? "
            + "ORDER BY id LIMIT \(Self.chunkSize)"
        var after: Int64 = 0
        var replayed = 0
        while true {
            let chunk = try writing { () throws(SQLiteError) in
                let statement = try store.statement(select)
                try statement.bind(values + [.integer(after), .integer(lastID)])
                var events: [StoredEvent] = []
                while try statement.step() {
                    events.append(StoredEvent(row: statement))
                }
                statement.reset()
                let now = clock()
                for event in events {
                    try copy(event, createdAt: now)
                }
                return events
            }
            replayed += chunk.count
            guard chunk.count == Self.chunkSize, let last = chunk.last else { return replayed }
            after = last.id
        }
    }

    private func copy(_ stored: StoredEvent, createdAt: Double) throws(SQLiteError) {
        try store.insert(stored.event, createdAt: createdAt, replayOf: stored.id)
        if stored.state == .dead {
            try store.statement("DELETE FROM events WHERE id = ? AND state = 'dead'").run([.integer(stored.id)])
        }
    }

    private func checkIDsExist(_ ids: [Int64]) throws(OutboxError) {
        for id in ids {
            let found = try reading { () throws(SQLiteError) in try store.event(id: id) != nil }
            guard found else { throw OutboxError(path: path, reason: .unknownEvent(id)) }
        }
    }

    // MARK: - Transactions

    /// Runs a read outside any explicit transaction (it takes no write lock) and maps SQLite errors.
    private func reading<T>(_ body: () throws(SQLiteError) -> T) throws(OutboxError) -> T {
        do throws(SQLiteError) {
            return try body()
        } catch {
            throw OutboxError(path: path, reason: .sqlite(error))
        }
    }

    /// Runs `body` in one short `BEGIN IMMEDIATE` transaction (rolled back on error) and maps SQLite errors.
    private func writing<T>(_ body: () throws(SQLiteError) -> T) throws(OutboxError) -> T {
        do {
            return try store.connection.transaction(body)
        } catch {
            throw OutboxError(path: path, reason: .sqlite(error))
        }
    }
}
