/// The effective values of one section, as the original's parser sees them: the section's own keys, then
/// those of its parents (`[name:parent]`, chains allowed), then `[common]`; in each of them a
/// `key[variant]` matching `MFCONFIG` wins over the plain `key`; `{{ NAME }}` is replaced by the environment
/// variable NAME (empty when unset).
struct SectionValues {
    /// A value found for a key, and where it was written.
    struct Found {
        var value: String
        var line: Int
    }

    /// The configuration file, for error messages.
    let file: String
    /// The section's name: its header up to the first `:` (`stage1` for `[stage1:common]`).
    let name: String
    /// The section, its parents in order, then `[common]`.
    let chain: [IniFile.Section]
    /// `MFCONFIG`, lower-cased.
    let variant: String
    let environment: [String: String]

    /// The value of `key` (lower-case), interpolated; nil when no section of the chain sets it.
    func find(_ key: String) -> Found? {
        for section in chain {
            if let entry = section.entry(key, variant: variant) ?? section.entry(key) {
                return Found(value: interpolate(entry.value), line: entry.line)
            }
        }
        return nil
    }

    /// The value of `key`, nil when unset or empty.
    func string(_ key: String) -> String? {
        guard let found = find(key), !found.value.isEmpty else { return nil }
        return found.value
    }

    /// An error about `key` of this section, naming the file, the section, the key, the value and its line.
    func error(_ key: String, _ found: Found?, _ reason: String) -> ConfigError {
        let line = found.map { " (line \($0.line))" } ?? ""
        return ConfigError(file: file, section: name, key: key, value: found?.value, reason: reason + line)
    }

    /// Replaces every `{{ NAME }}` (spaces optional) by the environment variable NAME, empty when unset.
    /// Braces around anything that is not a variable name are left as written.
    func interpolate(_ value: String) -> String {
        guard value.contains("{{") else { return value }
        var output = ""
        var rest = Substring(value)
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstRange(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = IniFile.trim(afterOpen[..<close.lowerBound])
            if Self.isVariableName(name) {
                output += environment[name] ?? ""
            } else {
                output += rest[open.lowerBound..<close.upperBound]
            }
            rest = afterOpen[close.upperBound...]
        }
        return output + rest
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`: what a shell accepts as a variable name.
    private static func isVariableName(_ name: String) -> Bool {
        let letters: ClosedRange<Unicode.Scalar> = "a"..."z"
        let capitals: ClosedRange<Unicode.Scalar> = "A"..."Z"
        let digits: ClosedRange<Unicode.Scalar> = "0"..."9"
        guard let first = name.unicodeScalars.first, !digits.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || letters.contains($0) || capitals.contains($0) || digits.contains($0)
        }
    }
}
