// MARK: - Typed values

/// Typed reads of a section's values; a value of the wrong kind is a `ConfigError` naming the file, the
/// section, the key, the value and its line.
extension SectionValues {
    /// 1/yes/true/on or 0/no/false/off, any case; `fallback` when unset.
    func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let found = find(key) else { return fallback }
        switch found.value.lowercased() {
        case "1", "yes", "true", "on": return true
        case "0", "no", "false", "off": return false
        default: throw error(key, found, "not a boolean: use 1/yes/true/on or 0/no/false/off")
        }
    }

    /// A whole number; `fallback` when unset or empty.
    func int(_ key: String, default fallback: Int) throws(ConfigError) -> Int {
        guard let found = find(key), !found.value.isEmpty else { return fallback }
        guard let number = Int(found.value) else { throw error(key, found, "not a whole number") }
        return number
    }

    /// The most seconds any setting takes (about 31 years): durations are turned into whole
    /// milliseconds and nanoseconds downstream, where a larger value would not fit.
    static let maximumSeconds = 1e9

    /// A finite number of seconds (fractions allowed) of at most `maximumSeconds` either way; `fallback`
    /// when unset or empty.
    func seconds(_ key: String, default fallback: Double) throws(ConfigError) -> Double {
        guard let found = find(key), !found.value.isEmpty else { return fallback }
        guard let number = Double(found.value), number.isFinite else {
            throw error(key, found, "not a number of seconds")
        }
        guard abs(number) <= Self.maximumSeconds else {
            throw error(key, found, "too large (at most 1000000000 seconds)")
        }
        return number
    }

    /// Seconds that must be zero or more.
    func nonNegativeSeconds(_ key: String, default fallback: Double) throws(ConfigError) -> Double {
        let value = try seconds(key, default: fallback)
        guard value >= 0 else { throw error(key, find(key), "must not be negative") }
        return value
    }

    /// Seconds that must be more than zero.
    func positiveSeconds(_ key: String, default fallback: Double) throws(ConfigError) -> Double {
        let value = try seconds(key, default: fallback)
        guard value > 0 else { throw error(key, find(key), "must be more than 0 seconds") }
        return value
    }

    /// A whole number that must be zero or more.
    func nonNegativeInt(_ key: String, default fallback: Int) throws(ConfigError) -> Int {
        let value = try int(key, default: fallback)
        guard value >= 0 else { throw error(key, find(key), "must not be negative") }
        return value
    }

    /// A TCP port, 1–65535.
    func port(_ key: String, default fallback: Int) throws(ConfigError) -> Int {
        guard let found = find(key), !found.value.isEmpty else { return fallback }
        guard let port = Int(found.value), (1...65_535).contains(port) else {
            throw error(key, found, "not a port number (1-65535)")
        }
        return port
    }

    /// One of `choices` (compared lower-cased); `fallback` when unset or empty.
    func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, default fallback: Choice
    ) throws(ConfigError) -> Choice where Choice.RawValue == String {
        guard let found = find(key), !found.value.isEmpty else { return fallback }
        if let choice = Choice(rawValue: found.value.lowercased()) { return choice }
        let known = Choice.allCases.map(\.rawValue).joined(separator: " or ")
        throw error(key, found, "unknown value: use \(known)")
    }

    /// `;`-separated patterns, each trimmed, empty ones dropped; nil when unset or empty.
    func patterns(_ key: String) -> [String]? {
        guard let value = string(key) else { return nil }
        let patterns = value.split(separator: ";").map { IniFile.trim($0) }.filter { !$0.isEmpty }
        return patterns.isEmpty ? nil : patterns
    }
}
