import ArgumentParser
import DirectoryObserver

extension Outbox {
    /// `outbox stats (--config FILE | --outbox PATH) [--json]`: counts per queue and state, the oldest
    /// pending event's age, the file's size and the daemon holding it.
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts per queue and state, the oldest pending age, size and daemon pid.")

        @OptionGroup var location: OutboxLocationOptions

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func run() throws {
            let (path, queues) = try location.resolve()
            let stats = try OutboxInspector(path: path).stats(configuredQueues: queues, now: Clock.now())
            print(json ? OutboxStatsReport.json(stats) : OutboxStatsReport.text(stats))
        }
    }
}
