import ArgumentParser
import DirectoryObserver

/// `--queue Q --state S --since T --until T`, shared by `outbox list` and `replay`. Values are checked in
/// `validate()` so a bad one ends as one line naming the option and the value.
struct EventFilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only events of this queue.", valueName: "Q"))
    var queue: String?

    @Option(name: .long, help: ArgumentHelp("pending, delivered, skipped or dead.", valueName: "S"))
    var state: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Only events with event_timestamp at or after T (ISO 8601, epoch, or age).", valueName: "T"))
    var since: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Only events with event_timestamp at or before T (ISO 8601, epoch, or age).", valueName: "T")
    )
    var until: String?

    func validate() throws {
        _ = try Self.state(state)
        _ = try filter(now: 0)
    }

    /// The filter these options describe; ages count back from `now`. `defaultState` applies when
    /// `--state` is not given.
    func filter(now: Double, defaultState: EventState? = nil, ids: [Int64] = []) throws -> EventFilter {
        EventFilter(
            queue: queue, state: try Self.state(state) ?? defaultState, since: try Self.instant(since, "--since", now),
            until: try Self.instant(until, "--until", now), ids: ids)
    }

    /// Parses a `--state` value; nil stays nil.
    static func state(_ text: String?, option: String = "--state") throws -> EventState? {
        guard let text else { return nil }
        guard let state = EventState(rawValue: text) else {
            throw ValidationError(
                "unknown state '\(text)' for \(option) (expected pending, delivered, skipped or dead)")
        }
        return state
    }

    private static func instant(_ text: String?, _ option: String, _ now: Double) throws -> Double? {
        guard let text else { return nil }
        guard let instant = TimeSpec.instant(text, now: now) else {
            throw ValidationError("cannot read \(option) '\(text)' as a time (expected \(TimeSpec.instantForms))")
        }
        return instant
    }
}
