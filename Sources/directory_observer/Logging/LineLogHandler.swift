import Glibc
import Logging

/// A swift-log handler that writes one line per message, in the chosen `LogFormat`: `plain`,
/// `2026-11-25T10:00:00.123456Z info message key=value …` (UTC, microseconds, metadata sorted by key), or
/// `json` (see `JSONLogLine`). Each line goes to the destination in one write.
struct LineLogHandler: LogHandler {
    let destination: LogDestination
    var logLevel: Logger.Level
    var format: LogFormat = .plain
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        switch format {
        case .plain: destination.write(Self.plainLine(event, merged))
        case .json: destination.write(JSONLogLine.render(event, merged, timestamp: Self.timestamp()))
        }
    }

    private static func plainLine(_ event: LogEvent, _ merged: Logger.Metadata) -> String {
        var line = timestamp() + " " + event.level.rawValue + " " + event.message.description
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(quoted("\(value)"))"
        }
        return line + "\n"
    }

    /// Values with spaces or quotes are quoted so a line stays parseable; newlines never split a line.
    private static func quoted(_ value: String) -> String {
        let escaped = value.replacingNewlines()
        guard escaped.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || escaped.isEmpty else {
            return escaped
        }
        return "\"" + escaped.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\\\"") + "\""
    }

    /// The current UTC time as ISO 8601 with microseconds.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let micro = Int32(spec.tv_nsec / 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(micro, 6))Z"
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n")
    }
}
