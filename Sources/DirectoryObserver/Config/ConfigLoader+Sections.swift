// MARK: - Inheritance

extension ConfigLoader {
    /// The header of the default section every other section inherits from.
    static let commonSection = "common"

    /// Every section but `[common]`, in file order, with its inheritance chain resolved: itself, its parents
    /// (`[name:parent]`, then the parent's parent…), then `[common]`. An unknown parent or a cycle is an
    /// error naming the section.
    static func resolveSections(
        of ini: IniFile, variant: String, environment: [String: String]
    ) throws(ConfigError) -> [SectionValues] {
        let common = ini.sections.first { $0.header == commonSection }
        var resolved: [SectionValues] = []
        for section in ini.sections where section.header != commonSection {
            let (name, _) = split(section.header)
            var chain = [section]
            var seen: Set<String> = [section.header]
            var parent = split(section.header).parent
            while let wanted = parent, wanted != commonSection {
                guard let found = lookup(wanted, in: ini) else {
                    throw ConfigError(
                        file: ini.path, section: name, value: section.header,
                        reason: "unknown parent section [\(wanted)] (line \(section.line))")
                }
                guard seen.insert(found.header).inserted else {
                    let path = chain.map { "[\($0.header)]" }.joined(separator: " -> ")
                    throw ConfigError(
                        file: ini.path, section: name, value: section.header,
                        reason: "sections inherit from each other in a cycle: \(path) -> [\(found.header)]")
                }
                chain.append(found)
                parent = split(found.header).parent
            }
            if let common { chain.append(common) }
            resolved.append(
                SectionValues(
                    file: ini.path, name: name, chain: chain, variant: variant, environment: environment))
        }
        return resolved
    }

    /// `stage1:common` → (`stage1`, `common`); `stage1` → (`stage1`, nil).
    static func split(_ header: String) -> (name: String, parent: String?) {
        guard let colon = header.firstIndex(of: ":") else { return (IniFile.trim(header[...]), nil) }
        let parent = IniFile.trim(header[header.index(after: colon)...])
        return (IniFile.trim(header[..<colon]), parent.isEmpty ? nil : parent)
    }

    /// The section a `:parent` refers to: the one with exactly that header, else the last one with that name.
    private static func lookup(_ parent: String, in ini: IniFile) -> IniFile.Section? {
        ini.sections.first { $0.header == parent } ?? ini.sections.last { split($0.header).name == parent }
    }
}
