/// Finds the known key a person most likely meant when writing an unknown one. Tried in order: the same
/// key with `-` or spaces for `_` (`redis-port`); the section's name as a prefix (`[redis] port` →
/// `redis_port`); the one known key ending in `_<key>` (`port` → `redis_port`); then the nearest key by
/// edit distance, counting a swap of two neighbouring letters as one edit (`redis_prot` → `redis_port`),
/// when it is within a third of the key's length (at least one edit, at most three). Ties go to the
/// alphabetically first key, so the answer never depends on iteration order.
struct KeySuggester {
    let known: Set<String>

    func suggestion(for key: String, section: String) -> String? {
        let underscored = Self.underscored(key)
        if known.contains(underscored) { return underscored }
        let prefixed = Self.underscored(section.lowercased()) + "_" + underscored
        if known.contains(prefixed) { return prefixed }
        let endings = known.filter { $0.hasSuffix("_" + underscored) }
        if endings.count == 1, let only = endings.first { return only }

        let limit = min(3, max(1, underscored.count / 3))
        var best: (key: String, distance: Int)?
        for candidate in known.sorted() {
            let distance = Self.distance(underscored, candidate)
            if distance <= limit, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.key
    }

    private static func underscored(_ text: String) -> String {
        String(text.map { $0 == "-" || $0 == " " ? "_" : $0 })
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
    static func distance(_ left: String, _ right: String) -> Int {
        let a = Array(left.unicodeScalars)
        let b = Array(right.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, table[i - 2][j - 2] + 1)
                }
                table[i][j] = value
            }
        }
        return table[a.count][b.count]
    }
}
