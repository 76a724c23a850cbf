/// The outbox schema, as the numbered files of `migrations/` embedded into the binary at build time by the
/// EmbedMigrations plugin. Migration N is the file whose name starts with N; `PRAGMA user_version`
/// records the highest one applied.
public enum Migrations {
    /// `PRAGMA application_id` of every outbox: "DOBX" in ASCII.
    public static let applicationID: Int32 = 0x444F_4258

    /// One migration: its number, the file it came from and its SQL.
    public struct Step: Sendable {
        public let version: Int
        public let fileName: String
        public let sql: String
    }

    /// Every migration in order. The plugin keeps the files' order; a name without a number is a build
    /// mistake that the tests catch.
    public static let steps: [Step] = embedded.compactMap { entry in
        guard let version = Int(entry.fileName.prefix { $0.isNumber }) else { return nil }
        return Step(version: version, fileName: entry.fileName, sql: entry.sql)
    }.sorted { $0.version < $1.version }

    /// The schema version this binary creates and understands.
    public static var latestVersion: Int { steps.last?.version ?? 0 }
}
