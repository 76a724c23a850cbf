import ArgumentParser
import DirectoryObserver

/// `replay … [--id ID]... [--dry-run] [--json]`: sends matching events again as new pending events (new
/// ids, `replay_of` = the original); `dead` events move to the end of their queue. A running daemon
/// forwards them within a second.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue matching events again (default state delivered); dead events move to the queue's end.")

    @OptionGroup var location: OutboxLocationOptions
    @OptionGroup var filter: EventFilterOptions

    @Option(name: .customLong("id"), help: ArgumentHelp("Only this event id (repeatable).", valueName: "ID"))
    var ids: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Change nothing; print how many events would be replayed.")
    var dryRun = false

    @Flag(name: .long, help: "Print {\"replayed\": N}.")
    var json = false

    func validate() throws {
        for id in ids { _ = try Self.eventID(id) }
    }

    func run() throws {
        let (path, _) = try location.resolve()
        let ids = try self.ids.map(Self.eventID)
        let matching = try filter.filter(now: Clock.now(), defaultState: .delivered, ids: ids)
        let count = try OutboxMaintenance(path: path).replay(matching: matching, dryRun: dryRun)
        // SPEC §2 fixes the wording, "replayed 1 events" included, so scripts can match it.
        print(json ? "{\"replayed\": \(count)}" : "replayed \(count) events")
    }

    /// Parses an event id given on the command line.
    static func eventID(_ text: String) throws -> Int64 {
        guard let id = Int64(text), id > 0 else {
            throw ValidationError("'\(text)' is not an event id (a positive whole number)")
        }
        return id
    }
}
