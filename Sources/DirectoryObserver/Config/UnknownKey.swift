/// A key in the configuration file that no rule reads: it is ignored, as the original ignores it, and
/// reported (a warning at start and in `check-config`; an error with `check-config --strict`).
public struct UnknownKey: Sendable, Equatable, CustomStringConvertible {
    /// The configuration file (absolute path).
    public var file: String
    /// The section's name as written before any `:parent` (`common` for `[common]`).
    public var section: String
    /// The key, lower-cased, without its `[variant]`.
    public var key: String
    /// The 1-based line the key is on.
    public var line: Int
    /// The closest known key, when one is near enough to be a likely intended spelling.
    public var suggestion: String?

    /// `FILE: [section] key (line N): unknown key, ignored; did you mean 'redis_port'?` on one line.
    public var description: String {
        let hint = suggestion.map { "; did you mean '\($0)'?" } ?? ""
        return "\(file): [\(section)] \(key) (line \(line)): unknown key, ignored\(hint)"
    }
}
