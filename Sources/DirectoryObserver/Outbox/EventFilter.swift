/// Which events an operator command selects: every condition given must hold (SPEC §2). Time bounds are
/// inclusive and apply to `event_timestamp`; `ids` empty means any id.
public struct EventFilter: Sendable, Equatable {
    public var queue: String?
    public var state: EventState?
    /// Earliest `event_timestamp`, inclusive (Unix seconds).
    public var since: Double?
    /// Latest `event_timestamp`, inclusive (Unix seconds).
    public var until: Double?
    /// Only these event ids (none: any).
    public var ids: [Int64]

    public init(
        queue: String? = nil, state: EventState? = nil, since: Double? = nil, until: Double? = nil, ids: [Int64] = []
    ) {
        self.queue = queue
        self.state = state
        self.since = since
        self.until = until
        self.ids = ids
    }

    /// The SQL condition (never empty) and its values, in order, for `WHERE`.
    var condition: (sql: String, values: [SQLiteValue]) {
        var clauses: [String] = []
        var values: [SQLiteValue] = []
        if let queue {
            clauses.append("queue = ?")
            values.append(.text(queue))
        }
        if let state {
            // A literal, not a bound value: only then can SQLite use the partial indexes on pending,
            // skipped and dead events (the raw value is one of four fixed words, never operator text).
            clauses.append("state = '\(state.rawValue)'")
        }
        if let since {
            clauses.append("event_timestamp >= ?")
            values.append(.real(since))
        }
        if let until {
            clauses.append("event_timestamp <= ?")
            values.append(.real(until))
        }
        if !ids.isEmpty {
            clauses.append("id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ", ")))")
            values += ids.map { .integer($0) }
        }
        return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), values)
    }
}
