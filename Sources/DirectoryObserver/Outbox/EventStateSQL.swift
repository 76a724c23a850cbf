/// How an event's state is read from the outbox since schema 2 (`migrations/0002_…`): a delivered batch
/// adds one row to `deliveries` instead of changing each of its events, so an event whose stored state is
/// `pending` is delivered once a delivery of its queue reaches its id. Every query that reports or
/// selects states goes through these fragments, so the rule lives in one place; tools and tests that read
/// an outbox with their own SQL use them too. Each fragment reads the `events` row of the enclosing query
/// (the table must not be aliased).
public enum EventStateSQL {
    /// The highest id delivered for the row's queue (0 when none).
    public static let deliveredThroughOfRow =
        "coalesce((SELECT max(through_id) FROM deliveries WHERE deliveries.queue = events.queue), 0)"

    /// The highest id delivered for the queue bound to parameter `?N` (0 when none): a constant for the
    /// query, so SQLite can use it as a bound of an index range.
    static func deliveredThrough(queueParameter number: Int) -> String {
        "coalesce((SELECT max(through_id) FROM deliveries WHERE deliveries.queue = ?\(number)), 0)"
    }

    /// The event's state as a word: `pending`, `delivered`, `skipped` or `dead`.
    public static let state =
        "CASE WHEN events.state = 'pending' AND events.id <= \(deliveredThroughOfRow) THEN 'delivered' "
        + "ELSE events.state END"

    /// When the event was delivered or skipped (NULL while pending, and for dead events).
    public static let deliveredAt =
        "CASE WHEN events.state = 'pending' THEN (SELECT delivered_at FROM deliveries "
        + "WHERE deliveries.queue = events.queue AND deliveries.through_id >= events.id "
        + "ORDER BY deliveries.through_id LIMIT 1) ELSE events.delivered_at END"

    /// A condition that holds for the events in `state`, written so that the index on (queue, state)
    /// serves it: the stored state is compared with a literal (one of four fixed words, never operator
    /// text).
    static func condition(for state: EventState) -> String {
        switch state {
        case .pending:
            "(events.state = 'pending' AND events.id > \(deliveredThroughOfRow))"
        case .delivered:
            "(events.state = 'delivered' OR (events.state = 'pending' AND events.id <= \(deliveredThroughOfRow)))"
        case .skipped, .dead:
            "events.state = '\(state.rawValue)'"
        }
    }
}
