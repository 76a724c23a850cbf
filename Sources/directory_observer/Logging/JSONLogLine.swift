import DirectoryObserver
import Logging

/// One log message as one JSON object on one line:
/// `{"ts":"2026-11-25T10:00:00.123456Z","level":"info","msg":"…", …metadata}`. Metadata keys follow `ts`,
/// `level` and `msg` sorted by name; a metadata key spelled like one of those three is written with a
/// `field.` prefix so the object never has a duplicate member. Values are strings (lists and dictionaries
/// as their text), escaped per JSON, so every line parses whatever a file name or error holds.
enum JSONLogLine {
    private static let reserved: Set<String> = ["ts", "level", "msg"]

    static func render(_ event: LogEvent, _ merged: Logger.Metadata, timestamp: String) -> String {
        var members = [("ts", timestamp), ("level", event.level.rawValue), ("msg", event.message.description)]
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            members.append((reserved.contains(key) ? "field." + key : key, "\(value)"))
        }
        return JSONObjectLine.render(members) + "\n"
    }
}
