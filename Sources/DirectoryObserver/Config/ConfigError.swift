/// A configuration problem, told in one line that names the file and, when known, the section, the key
/// and the offending value, followed by what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let section: String?
    public let key: String?
    public let value: String?
    public let reason: String

    public init(file: String, section: String? = nil, key: String? = nil, value: String? = nil, reason: String) {
        self.file = file
        self.section = section
        self.key = key
        self.value = value
        self.reason = reason
    }

    public var description: String {
        var place = file
        if let section { place += ": [\(section)]" }
        if let key {
            place += " \(key)"
            if let value { place += "=\(Self.quoted(value))" }
        } else if let value {
            place += " \(Self.quoted(value))"
        }
        return "\(place): \(reason)"
    }

    /// Values are shown quoted, with newlines escaped, so the message stays on one line.
    private static func quoted(_ value: String) -> String {
        "'" + value.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n") + "'"
    }
}
