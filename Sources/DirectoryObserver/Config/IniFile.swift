/// The syntax of an INI file as Python's configparser reads it, without any meaning attached: sections in
/// file order, each with its `key=value` / `key: value` entries, keys lower-cased, values trimmed, line numbers
/// kept so errors can point at them. Inheritance, variants and interpolation are `ConfigLoader`'s job.
public struct IniFile: Sendable, Equatable {
    /// One `key=value` line (or `key[variant]=value`), possibly continued on indented lines.
    public struct Entry: Sendable, Equatable {
        /// The key, lower-cased (`Redis_server` → `redis_server`), without its variant.
        public var key: String
        /// The variant in `key[variant]=value`, lower-cased; nil for a plain key.
        public var variant: String?
        /// The value, trimmed; continuation lines are joined with `\n`.
        public var value: String
        /// The 1-based line the key is on.
        public var line: Int
    }

    /// One `[header]` and the entries under it, in file order.
    public struct Section: Sendable, Equatable {
        /// The text between the brackets, as written (`stage1:common`).
        public var header: String
        /// The 1-based line of the header.
        public var line: Int
        public var entries: [Entry]

        /// The entry for `key` (lower-case) with exactly this variant; the last one when repeated.
        public func entry(_ key: String, variant: String? = nil) -> Entry? {
            entries.last { $0.key == key && $0.variant == variant }
        }
    }

    /// The file's path, as used in error messages.
    public var path: String
    /// Sections in the order they first appear; a header repeated later adds its entries to the first one.
    public var sections: [Section]

    /// Parses `text`; a line that is neither a header, an entry, a continuation, a comment nor blank is an
    /// error naming the file, the line and its text.
    public init(path: String, text: String) throws(ConfigError) {
        self.path = path
        var sections: [Section] = []
        var indexByHeader: [String: Int] = [:]
        var current: Int?
        var lastEntryOpen = false
        /// Indentation of the line that opened the current entry.
        var entryIndent = 0

        // "\r\n" is one Character in Swift, so it is a separator of its own.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            let line = rawLine
            let trimmed = Self.trim(line)
            if trimmed.isEmpty {
                lastEntryOpen = false
                continue
            }
            if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }

            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            if indent > entryIndent, lastEntryOpen, let index = current {
                // configparser: a line indented deeper than its key's line continues that key's value.
                sections[index].entries[sections[index].entries.count - 1].value += "\n" + trimmed
                continue
            }

            if trimmed.hasPrefix("["), let close = trimmed.lastIndex(of: "]") {
                let header = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
                guard !header.isEmpty else {
                    throw ConfigError(file: path, value: trimmed, reason: "line \(number): empty section name")
                }
                if let index = indexByHeader[header] {
                    current = index
                } else {
                    indexByHeader[header] = sections.count
                    current = sections.count
                    sections.append(Section(header: header, line: number, entries: []))
                }
                lastEntryOpen = false
                continue
            }

            guard let delimiter = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigError(
                    file: path, section: current.map { sections[$0].header }, value: trimmed,
                    reason: "line \(number): expected [section], key=value, key: value or a comment")
            }
            let rawKey = Self.trim(trimmed[..<delimiter]).lowercased()
            let value = Self.trim(trimmed[trimmed.index(after: delimiter)...])
            guard !rawKey.isEmpty else {
                throw ConfigError(
                    file: path, section: current.map { sections[$0].header }, value: trimmed,
                    reason: "line \(number): a value without a key")
            }
            guard let index = current else {
                throw ConfigError(
                    file: path, key: rawKey, value: value,
                    reason: "line \(number): key before the first [section] header")
            }
            let (key, variant) = Self.splitVariant(rawKey)
            sections[index].entries.append(Entry(key: key, variant: variant, value: value, line: number))
            lastEntryOpen = true
            entryIndent = indent
        }
        self.sections = sections
    }

    /// `key[variant]` → (`key`, `variant`); anything else → (key, nil).
    private static func splitVariant(_ key: String) -> (String, String?) {
        guard key.hasSuffix("]"), let open = key.firstIndex(of: "["), open != key.startIndex else { return (key, nil) }
        let name = trim(key[..<open])
        let variant = trim(key[key.index(after: open)..<key.index(before: key.endIndex)])
        guard !name.isEmpty, !variant.isEmpty else { return (key, nil) }
        return (name, variant)
    }

    /// Strips spaces, tabs, carriage returns and form feeds at both ends.
    static func trim(_ text: Substring) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0C}" }
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }
}
