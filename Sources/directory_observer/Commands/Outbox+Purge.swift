import ArgumentParser
import DirectoryObserver

extension Outbox {
    /// `outbox purge … --state S [--queue Q] [--older-than D]`: deletes settled events. Pending events are
    /// refused before the outbox is even opened.
    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete delivered, skipped or dead events.")

        @OptionGroup var location: OutboxLocationOptions

        @Option(name: .long, help: ArgumentHelp("delivered, skipped or dead (never pending).", valueName: "S"))
        var state: String

        @Option(name: .long, help: ArgumentHelp("Only events of this queue.", valueName: "Q"))
        var queue: String?

        @Option(
            name: .customLong("older-than"),
            help: ArgumentHelp("Only events whose event_timestamp is older than D (90s, 15m, 2h, 7d).", valueName: "D"))
        var olderThan: String?

        func validate() throws {
            let state = try EventFilterOptions.state(state)
            if state == .pending {
                throw ValidationError("purge refuses --state pending: pending events have not been delivered yet")
            }
            if let olderThan, TimeSpec.duration(olderThan) == nil {
                throw ValidationError(
                    "cannot read --older-than '\(olderThan)' as a duration (expected \(TimeSpec.durationForms))")
            }
        }

        func run() throws {
            let (path, _) = try location.resolve()
            guard let state = try EventFilterOptions.state(state) else { return }
            let cutoff = olderThan.flatMap(TimeSpec.duration).map { Clock.now() - $0 }
            let deleted = try OutboxMaintenance(path: path).purge(state: state, queue: queue, olderThan: cutoff)
            print("purged \(deleted) events")
        }
    }
}
