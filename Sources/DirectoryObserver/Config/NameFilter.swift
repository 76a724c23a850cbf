import Synchronization

/// Decides which file names a monitor announces, with the original's semantics: a name is accepted when it
/// matches one `only` pattern and no `ignore` pattern, each matched from the start of the name like Python's
/// `re.match` (anchored at the start, not at the end). `^.*\.working$` is always among the ignore patterns,
/// exactly once, last.
///
/// Names are bytes; for the regex engine they are decoded as UTF-8 with invalid bytes replaced by U+FFFD.
/// The common pattern shapes (`^.*$`, `^.*\.ext$`, `^prefix`…) are matched on the bytes directly, without
/// decoding (see `FastPattern`); building a filter compiles every pattern, so an invalid one fails here,
/// not at the first file. Safe to share between threads.
public struct NameFilter: Sendable {
    /// The pattern always added to `ignore`: files still being written by MetWork's tools.
    public static let workingPattern = #"^.*\.working$"#

    /// The `only` patterns, as given.
    public let only: [String]
    /// The `ignore` patterns, as given, with `workingPattern` last (exactly once).
    public let ignore: [String]

    private let onlyFast: [FastPattern?]
    private let ignoreFast: [FastPattern?]
    private let regexes: CompiledRegexes

    /// Compiles the patterns; an invalid one throws a `ConfigError` naming `file`, `section`, the key (`only`
    /// or `ignore`), the pattern and the reason. Empty `only` means every name.
    public init(only: [String], ignore: [String], section: String, file: String) throws(ConfigError) {
        let only = only.isEmpty ? ["^.*$"] : only
        let ignore = ignore.filter { $0 != Self.workingPattern } + [Self.workingPattern]
        var compiled: [Regex<AnyRegexOutput>] = []
        for (key, patterns) in [("only", only), ("ignore", ignore)] {
            for pattern in patterns {
                do throws(PythonRegex.Invalid) {
                    compiled.append(try PythonRegex.compile(pattern))
                } catch {
                    throw ConfigError(
                        file: file, section: section, key: key, value: pattern,
                        reason: "invalid regular expression: \(error.reason)")
                }
            }
        }
        self.only = only
        self.ignore = ignore
        self.onlyFast = only.map { FastPattern(python: $0) }
        self.ignoreFast = ignore.map { FastPattern(python: $0) }
        self.regexes = CompiledRegexes(compiled)
    }

    /// The filter of a monitor (its `only` and `ignore`).
    public init(monitor: MonitorConfig, file: String) throws(ConfigError) {
        try self.init(only: monitor.only, ignore: monitor.ignore, section: monitor.section, file: file)
    }

    /// Whether a file called `name` (raw bytes, no directory) is announced.
    public func accepts(_ name: [UInt8]) -> Bool {
        // The byte matchers agree with the regexes except around `\n` (Python's `.` and `$`): leave those
        // names to the regexes.
        let fastAllowed = !name.contains(0x0A)
        var decoded: String?
        func matches(_ index: Int, _ fast: FastPattern?) -> Bool {
            if fastAllowed, let fast { return fast.matches(name) }
            if decoded == nil { decoded = String(decoding: name, as: UTF8.self) }
            return regexes.prefixMatches(index, decoded!)
        }
        for (offset, fast) in ignoreFast.enumerated() where matches(only.count + offset, fast) {
            return false
        }
        for (offset, fast) in onlyFast.enumerated() where matches(offset, fast) {
            return true
        }
        return false
    }

    /// Whether `name` matches pattern number `index` (the `only` patterns, then the `ignore` ones) by the
    /// regex engine alone; lets tests hold the fast path against it.
    func regexMatches(_ index: Int, _ name: [UInt8]) -> Bool {
        regexes.prefixMatches(index, String(decoding: name, as: UTF8.self))
    }
}

/// The compiled regexes of one filter. `Regex` is not `Sendable`, so they live behind a lock; a filter is
/// used by one watcher thread at a time, so the lock is never contended in practice.
private final class CompiledRegexes: Sendable {
    private let regexes: Mutex<[Regex<AnyRegexOutput>]>

    init(_ regexes: sending [Regex<AnyRegexOutput>]) {
        self.regexes = Mutex(regexes)
    }

    /// Whether regex number `index` matches at the start of `text` (Python's `re.match`).
    func prefixMatches(_ index: Int, _ text: String) -> Bool {
        regexes.withLock { regexes in
            (try? regexes[index].prefixMatch(in: text)) != nil
        }
    }
}
