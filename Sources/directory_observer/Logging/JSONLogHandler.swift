import DirectoryObserver
import Logging

/// A swift-log handler that writes one JSON object per line:
/// `{"ts":"2026-11-25T10:00:00.123456Z","level":"info","msg":"…", …metadata}`. Metadata keys follow `ts`,
/// `level` and `msg` sorted by name; a metadata key spelled like one of those three is written with a
/// `field.` prefix so the object never has a duplicate member. Values are strings (lists and dictionaries
/// as their text), escaped per JSON, so every line parses whatever a file name or error holds.
struct JSONLogHandler: LogHandler {
    let destination: LogDestination
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    private static let reserved: Set<String> = ["ts", "level", "msg"]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var members = [
            ("ts", LineLogHandler.timestamp()), ("level", event.level.rawValue), ("msg", event.message.description),
        ]
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            members.append((Self.reserved.contains(key) ? "field." + key : key, "\(value)"))
        }
        destination.write(JSONObjectLine.render(members) + "\n")
    }
}
