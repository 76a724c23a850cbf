import ArgumentParser

/// `directory_observer outbox stats|list|show|purge`: look into the outbox, and clean it, while the
/// daemon runs. Reads use a read-only connection; `purge` uses short write transactions.
struct Outbox: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the outbox (stats, list, show) or delete settled events (purge).",
        subcommands: [Stats.self, List.self, Show.self, Purge.self]
    )
}
