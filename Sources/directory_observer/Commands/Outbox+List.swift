import ArgumentParser
import DirectoryObserver

extension Outbox {
    /// `outbox list … [--limit N] [--json]`: the oldest matching events, oldest first (JSON Lines with
    /// `--json`).
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List events, oldest first.")

        @OptionGroup var location: OutboxLocationOptions
        @OptionGroup var filter: EventFilterOptions

        // Unconditional, so `--limit -5` reaches validate() and gets its own message.
        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("Show the N oldest matching events (default 100, 0 = all).", valueName: "N"))
        var limit: String = "100"

        @Flag(name: .long, help: "Print JSON Lines, one object per event.")
        var json = false

        func validate() throws {
            _ = try parsedLimit()
        }

        /// The limit, nil for all.
        private func parsedLimit() throws -> Int? {
            guard let value = Int(limit), value >= 0 else {
                throw ValidationError("--limit must be a whole number of events, 0 for all (got '\(limit)')")
            }
            return value == 0 ? nil : value
        }

        func run() throws {
            let now = Clock.now()
            let (path, _) = try location.resolve()
            let events = try OutboxInspector(path: path).events(
                matching: try filter.filter(now: now), limit: try parsedLimit())
            if json {
                for event in events { print(EventReport.jsonLine(event)) }
            } else {
                print(EventReport.table(events, now: now))
            }
        }
    }
}
