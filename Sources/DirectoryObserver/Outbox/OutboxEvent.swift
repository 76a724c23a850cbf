/// What happened to a file: it appeared (`created`) or a listing found it (`exists`).
public enum EventKind: String, Sendable, Equatable, CaseIterable {
    case created
    case exists
}

/// Where an event is in its life.
public enum EventState: String, Sendable, Equatable, CaseIterable {
    /// Committed, not yet in Redis.
    case pending
    /// Pushed to its list.
    case delivered
    /// Not pushed on purpose (an `exists` event over the list limit, or whose file was gone).
    case skipped
    /// Failed `max_attempts` times with a permanent error; kept for the operator to replay.
    case dead
}

/// An event handed to the outbox, before it has an id.
public struct NewEvent: Sendable, Equatable {
    public var queue: String
    public var counter: String?
    /// The directory as configured; the message reports it unchanged.
    public var directory: String
    /// The file name, byte for byte as the kernel gave it.
    public var filename: [UInt8]
    public var kind: EventKind
    /// Unix time, in seconds, at which the observer saw the file.
    public var timestamp: Double

    public init(
        queue: String, counter: String?, directory: String, filename: [UInt8], kind: EventKind, timestamp: Double
    ) {
        self.queue = queue
        self.counter = counter
        self.directory = directory
        self.filename = filename
        self.kind = kind
        self.timestamp = timestamp
    }

    /// The exact message pushed (or to be pushed) for this event.
    public var message: [UInt8] {
        EventMessage.encode(directory: directory, filename: filename, event: kind.rawValue, timestamp: timestamp)
    }
}

/// One row of the outbox: the event as it was handed in, and where it is in its life. The event's fields
/// read as the row's own (`stored.queue`, `stored.message`).
@dynamicMemberLookup
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    /// What was handed to the outbox; a replay hands it in again unchanged.
    public var event: NewEvent
    public var state: EventState
    /// Tries that failed with a non-transient Redis error.
    public var attempts: Int
    public var lastError: String?
    public var createdAt: Double
    public var deliveredAt: Double?
    /// The id of the event this one is a replay of.
    public var replayOf: Int64?

    /// A field of `event`, read and set as the row's own.
    public subscript<Value>(dynamicMember field: WritableKeyPath<NewEvent, Value>) -> Value {
        get { event[keyPath: field] }
        set { event[keyPath: field] = newValue }
    }

    /// A computed value of `event` (`message`), read as the row's own.
    public subscript<Value>(dynamicMember field: KeyPath<NewEvent, Value>) -> Value {
        event[keyPath: field]
    }
}
