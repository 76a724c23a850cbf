import Glibc

/// Read-only access to an outbox for `outbox stats`, `list` and `show`. It opens the file with a read-only
/// connection (never creating, migrating or writing it) and reads in one deferred transaction: in WAL mode
/// a reader never blocks the daemon's writer. Not Sendable: used on the thread that made it.
public final class OutboxInspector {
    public let path: String
    private let store: OutboxStore

    /// Opens the outbox at `path` read-only; throws `OutboxError` (`.missing`, `.notSQLite`, …) without
    /// touching a file it cannot read as an outbox.
    public init(path: String) throws(OutboxError) {
        self.path = path
        store = OutboxStore(connection: try OutboxFile.open(path: path, access: .inspect))
    }

    deinit {
        try? store.close()
    }

    // MARK: - Stats

    /// Counts per queue and state. `configuredQueues` are listed first, in their order, with zeros when
    /// they have no event; the other queues in the outbox follow by name. `now` dates the oldest pending
    /// event.
    public func stats(configuredQueues: [String] = [], now: Double) throws(OutboxError) -> OutboxStats {
        let (uuid, version, counts, oldest) = try reading { () throws(SQLiteError) in
            let counts = try countsByQueue()
            let pending = counts.filter { $0.value.pending > 0 }.map(\.key)
            return (
                try OutboxFile.uuid(of: store.connection), try OutboxFile.schemaVersion(of: store.connection), counts,
                try oldestPending(queues: pending)
            )
        }
        var names: [String] = []
        for name in configuredQueues where !names.contains(name) { names.append(name) }
        names += counts.keys.filter { !configuredQueues.contains($0) }.sorted()
        let queues = names.map { name in
            OutboxStats.Queue(
                name: name, counts: counts[name] ?? OutboxStats.Counts(),
                oldestPendingAge: oldest[name].map { max(0, now - $0) })
        }
        return OutboxStats(
            path: path, uuid: uuid, schemaVersion: version, daemonPID: OutboxLock.holder(ofOutbox: path),
            sizeBytes: fileSize(path) + fileSize(path + "-wal"), queues: queues)
    }

    /// Counts per queue and state from the index on (queue, state) alone, no table scan: the stored states,
    /// then, for each queue with stored `pending` events, how many of those its deliveries cover (see
    /// `EventStateSQL`).
    private func countsByQueue() throws(SQLiteError) -> [String: OutboxStats.Counts] {
        var counts: [String: OutboxStats.Counts] = [:]
        let byState = try store.statement(
            "SELECT queue, state, count(*) FROM events INDEXED BY events_by_queue_state GROUP BY queue, state")
        defer { byState.reset() }
        while try byState.step() {
            let state = EventState(rawValue: byState.text(1)) ?? .pending
            counts[byState.text(0), default: OutboxStats.Counts()].add(Int(byState.int64(2)), in: state)
        }
        let delivered = try store.statement(
            """
            SELECT count(*) FROM events INDEXED BY events_by_queue_state
            WHERE queue = ?1 AND state = 'pending' AND id <= \(EventStateSQL.deliveredThrough(queueParameter: 1))
            """)
        for (queue, queueCounts) in counts where queueCounts.pending > 0 {
            try delivered.bind(queue, at: 1)
            let covered = try delivered.step() ? Int(delivered.int64(0)) : 0
            delivered.reset()
            counts[queue]?.pending -= covered
            counts[queue]?.delivered += covered
        }
        return counts
    }

    /// `created_at` of each queue's oldest pending event, for the queues the counts show pending.
    private func oldestPending(queues: [String]) throws(SQLiteError) -> [String: Double] {
        let first = try store.statement(
            """
            SELECT created_at FROM events INDEXED BY events_by_queue_state
            WHERE \(OutboxStore.pendingAfter) ORDER BY id LIMIT 1
            """)
        var oldest: [String: Double] = [:]
        for queue in queues {
            try first.bind([.text(queue), .integer(0)])
            if try first.step() { oldest[queue] = first.double(0) }
            first.reset()
        }
        return oldest
    }

    private func fileSize(_ file: String) -> Int64 {
        var info = stat()
        return stat(file, &info) == 0 ? Int64(info.st_size) : 0
    }

    // MARK: - Events

    /// The oldest events matching `filter` (id order), at most `limit` of them; `limit` nil means all.
    public func events(matching filter: EventFilter, limit: Int?) throws(OutboxError) -> [StoredEvent] {
        try reading { () throws(SQLiteError) in
            let (condition, values) = filter.condition
            var sql = "SELECT \(StoredEvent.columns) FROM events WHERE \(condition) ORDER BY id"
            if let limit { sql += " LIMIT \(limit)" }
            let select = try store.connection.prepare(sql)
            try select.bind(values)
            var events: [StoredEvent] = []
            while try select.step() {
                events.append(StoredEvent(row: select))
            }
            return events
        }
    }

    /// The event with `id`; throws `.unknownEvent(id)` when there is none.
    public func event(id: Int64) throws(OutboxError) -> StoredEvent {
        let found = try reading { () throws(SQLiteError) in try store.event(id: id) }
        guard let found else { throw OutboxError(path: path, reason: .unknownEvent(id)) }
        return found
    }

    // MARK: - Reading

    /// Runs `body` in one read transaction (`OutboxStore.reading`: a consistent snapshot, never left
    /// open) and maps SQLite errors to `OutboxError`.
    private func reading<T>(_ body: () throws(SQLiteError) -> T) throws(OutboxError) -> T {
        do throws(SQLiteError) {
            return try store.reading(body)
        } catch {
            throw OutboxError(path: path, reason: .sqlite(error))
        }
    }
}
