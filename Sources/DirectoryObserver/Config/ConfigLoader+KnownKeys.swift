// MARK: - Known keys

extension ConfigLoader {
    /// The keys a monitor section is read for (SPEC §3).
    static let monitorKeyNames = [
        "active", "directory", "queue", "counter", "forced_poll", "poll_queue_limit", "timeout", "only", "ignore",
        "announce",
    ]

    /// Global keys of SPEC §8 that the Sentinel and lost-write work reads. Listed here as well so a file
    /// written for that release is not flagged; a duplicate of `globalKeys` is harmless (a set is built).
    static let sentinelKeyNames = [
        "redis_sentinels", "redis_sentinel_master", "redis_sentinel_password", "redis_sentinel_password_file",
        "redis_lost_writes",
    ]

    /// Every key some rule reads, lower-case.
    static let knownKeyNames: Set<String> = Set(monitorKeyNames + globalKeys.map(\.name) + sentinelKeyNames)

    /// Every key of every section (`[common]` included) that no rule reads, in file order, each with the
    /// closest known key when one is near. The original ignores such keys silently; they are reported so a
    /// typo (`redis_prot`, `[redis] port`) does not go unnoticed.
    static func unknownKeys(in ini: IniFile) -> [UnknownKey] {
        var found: [UnknownKey] = []
        for section in ini.sections {
            let name = split(section.header).name
            for entry in section.entries where !knownKeyNames.contains(entry.key) {
                found.append(
                    UnknownKey(
                        file: ini.path, section: name, key: entry.key, line: entry.line,
                        suggestion: KeySuggester(known: knownKeyNames).suggestion(for: entry.key, section: name)))
            }
        }
        return found
    }
}
