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
        try parsed(key, default: fallback, else: "not a whole number") { Int($0) }
    }

    /// The most seconds any setting takes (about 31 years): durations are turned into whole
    /// milliseconds and nanoseconds downstream, where a larger value would not fit.
    static let maximumSeconds = 1e9

    /// A finite number of seconds (fractions allowed) of at most `maximumSeconds` either way; `fallback`
    /// when unset or empty.
    func seconds(_ key: String, default fallback: Double) throws(ConfigError) -> Double {
        let number = try parsed(key, default: fallback, else: "not a number of seconds") { text in
            Double(text).flatMap { $0.isFinite ? $0 : nil }
        }
        return try checked(number, key, else: "too large (at most 1000000000 seconds)") {
            abs($0) <= Self.maximumSeconds
        }
    }

    /// Seconds that must be zero or more.
    func nonNegativeSeconds(_ key: String, default fallback: Double) throws(ConfigError) -> Double {
        try checked(seconds(key, default: fallback), key, else: "must not be negative") { $0 >= 0 }
    }

    /// Seconds that must be more than zero.
    func positiveSeconds(_ key: String, default fallback: Double) throws(ConfigError) -> Double {
        try checked(seconds(key, default: fallback), key, else: "must be more than 0 seconds") { $0 > 0 }
    }

    /// A whole number that must be zero or more.
    func nonNegativeInt(_ key: String, default fallback: Int) throws(ConfigError) -> Int {
        try checked(int(key, default: fallback), key, else: "must not be negative") { $0 >= 0 }
    }

    /// A TCP port, 1–65535.
    func port(_ key: String, default fallback: Int) throws(ConfigError) -> Int {
        try parsed(key, default: fallback, else: "not a port number (1-65535)") { text in
            Int(text).flatMap { (1...65_535).contains($0) ? $0 : nil }
        }
    }

    /// One of `choices` (compared lower-cased); `fallback` when unset or empty.
    func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, default fallback: Choice
    ) throws(ConfigError) -> Choice where Choice.RawValue == String {
        let known = Choice.allCases.map(\.rawValue).joined(separator: " or ")
        return try parsed(key, default: fallback, else: "unknown value: use \(known)") {
            Choice(rawValue: $0.lowercased())
        }
    }

    /// `;`-separated patterns, each trimmed, empty ones dropped; nil when unset or empty.
    func patterns(_ key: String) -> [String]? {
        guard let value = string(key) else { return nil }
        let patterns = value.split(separator: ";").map { IniFile.trim($0) }.filter { !$0.isEmpty }
        return patterns.isEmpty ? nil : patterns
    }

    // MARK: - Helpers

    /// `key`'s value as `parse` reads it; `fallback` when unset or empty; an error saying `problem` when
    /// `parse` gives nil.
    private func parsed<Value>(
        _ key: String, default fallback: Value, else problem: String, _ parse: (String) -> Value?
    ) throws(ConfigError) -> Value {
        guard let found = find(key), !found.value.isEmpty else { return fallback }
        guard let value = parse(found.value) else { throw error(key, found, problem) }
        return value
    }

    /// `value` (read from `key`, or its default) when it passes `isValid`; else an error saying `problem`.
    private func checked<Value>(
        _ value: Value, _ key: String, else problem: String, _ isValid: (Value) -> Bool
    ) throws(ConfigError) -> Value {
        guard isValid(value) else { throw error(key, find(key), problem) }
        return value
    }
}
