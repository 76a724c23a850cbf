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
            clauses.append("events.queue = ?")
            values.append(.text(queue))
        }
        if let state {
            clauses.append(EventStateSQL.condition(for: state))
        }
        if let since {
            clauses.append("events.event_timestamp >= ?")
            values.append(.real(since))
        }
        if let until {
            clauses.append("events.event_timestamp <= ?")
            values.append(.real(until))
        }
        if !ids.isEmpty {
            clauses.append("events.id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ", ")))")
            values += ids.map { .integer($0) }
        }
        return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), values)
    }
}
