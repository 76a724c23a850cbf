/// How `outbox list` and `outbox show` print events. JSON: one object per event with the keys of SPEC §2
/// in order (`id, queue, counter, state, event, directory, filename, event_timestamp, attempts, last_error,
/// replay_of`), `directory` and `filename` escaped exactly as the message carries them (an invalid byte
/// `0xAB` as `\udcab`) and `event_timestamp` written as in the message. Text: an aligned table, times in
/// UTC, names with odd bytes escaped visibly (`\xff`).
public enum EventReport {
    /// One JSON Lines record for `outbox list --json`.
    public static func jsonLine(_ event: StoredEvent) -> String {
        JSONText.object(members(event)).compact()
    }

    /// `outbox show --json`: the list record plus `"payload"`, a JSON string holding the exact message.
    public static func showJSON(_ event: StoredEvent) -> String {
        // The message is ASCII (EventMessage escapes everything else), so this string is lossless.
        let payload = String(decoding: event.message, as: UTF8.self)
        return JSONText.object(members(event) + [("payload", .string(payload))]).compact()
    }

    private static func members(_ event: StoredEvent) -> [(String, JSONText)] {
        [
            ("id", .int(Int(event.id))),
            ("queue", .string(event.queue)),
            ("counter", .optional(event.counter)),
            ("state", .string(event.state.rawValue)),
            ("event", .string(event.kind.rawValue)),
            ("directory", .raw(EventMessage.jsonString(Array(event.directory.utf8)))),
            ("filename", .raw(EventMessage.jsonString(event.filename))),
            ("event_timestamp", .raw(EventMessage.pythonFloat(event.timestamp))),
            ("attempts", .int(event.attempts)),
            ("last_error", .optional(event.lastError)),
            ("replay_of", event.replayOf.map { .int(Int($0)) } ?? .null),
        ]
    }

    /// The table of `outbox list`: one row per event; `now` gives the AGE column.
    public static func table(_ events: [StoredEvent], now: Double) -> String {
        guard !events.isEmpty else { return "no matching events" }
        var table = TextTable([
            ("ID", .right), ("QUEUE", .left), ("STATE", .left), ("EVENT", .left), ("EVENT TIME (UTC)", .left),
            ("AGE", .right), ("ATTEMPTS", .right), ("REPLAY OF", .right), ("FILE", .left),
        ])
        for event in events {
            var file = path(event)
            if let error = event.lastError { file += "  (last error: \(VisibleText.escaping(error)))" }
            table.append([
                String(event.id), VisibleText.escaping(event.queue), event.state.rawValue, event.kind.rawValue,
                TimeText.utc(event.timestamp), TimeText.age(now - event.timestamp), String(event.attempts),
                event.replayOf.map(String.init) ?? "-", file,
            ])
        }
        return table.lines().joined(separator: "\n")
    }

    /// `outbox show` for a person: one labelled line per field, then the message.
    public static func text(_ event: StoredEvent, now: Double) -> String {
        func time(_ seconds: Double?) -> String {
            guard let seconds else { return "-" }
            return "\(TimeText.utc(seconds)) UTC (\(TimeText.age(now - seconds)) ago)"
        }
        let fields: [(String, String)] = [
            ("id", String(event.id)),
            ("queue", VisibleText.escaping(event.queue)),
            ("counter", event.counter.map(VisibleText.escaping) ?? "-"),
            ("state", event.state.rawValue),
            ("event", event.kind.rawValue),
            ("directory", VisibleText.escaping(event.directory)),
            ("filename", VisibleText.escaping(event.filename)),
            ("event time", time(event.timestamp)),
            ("committed", time(event.createdAt)),
            ("settled", time(event.deliveredAt)),
            ("attempts", String(event.attempts)),
            ("last error", event.lastError.map(VisibleText.escaping) ?? "-"),
            ("replay of", event.replayOf.map(String.init) ?? "-"),
            ("payload", String(decoding: event.message, as: UTF8.self)),
        ]
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }
            .joined(separator: "\n")
    }

    /// `directory/filename` for a table, escaped visibly.
    private static func path(_ event: StoredEvent) -> String {
        let directory = VisibleText.escaping(event.directory)
        let name = VisibleText.escaping(event.filename)
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
