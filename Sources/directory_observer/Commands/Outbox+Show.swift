import ArgumentParser
import DirectoryObserver

extension Outbox {
    /// `outbox show ID … [--json]`: one event and the exact message pushed (or to be pushed) for it.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one event and its exact message.")

        @Argument(help: ArgumentHelp("The event's id.", valueName: "ID"))
        var id: String

        @OptionGroup var location: OutboxLocationOptions

        @Flag(name: .long, help: "Print one JSON object, with the message as \"payload\".")
        var json = false

        func validate() throws {
            _ = try Replay.eventID(id)
        }

        func run() throws {
            let (path, _) = try location.resolve()
            let event = try OutboxInspector(path: path).event(id: try Replay.eventID(id))
            print(json ? EventReport.showJSON(event) : EventReport.text(event, now: Clock.now()))
        }
    }
}
