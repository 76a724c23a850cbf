/// Where the writer's pruning walk is, and when it moves next. Pruning walks the table in id order in
/// small steps, each in its own short transaction between group commits, so the writer never stalls for
/// long. A pass ends at the end of the table or at the first event too young to prune; the next pass
/// resumes there a second later. Every minute the walk starts over from the first id, for the events it
/// passed while they were still pending and that have been settled since.
struct PruneSchedule {
    /// Events looked at per step.
    static let scanLimit = 2_000
    /// Seconds between passes.
    static let passInterval = 1.0
    /// Seconds between walks from the first id.
    static let restartInterval = 60.0

    private(set) var cursor: Int64 = 0
    private(set) var nextStep: Double
    private var nextRestart: Double

    init(now: Double) {
        nextStep = now + Self.passInterval
        nextRestart = now + Self.restartInterval
    }

    func isDue(now: Double) -> Bool { now >= nextStep }

    /// Moves on after a step: at once when the pass is not finished, a second later when it is.
    mutating func record(_ step: PruneStep, now: Double) {
        cursor = step.lastID
        guard step.finished else { return }
        nextStep = now + Self.passInterval
        if now >= nextRestart {
            cursor = 0
            nextRestart = now + Self.restartInterval
        }
    }

    /// After a failed step: try again at the next pass.
    mutating func postpone(now: Double) {
        nextStep = now + Self.passInterval
    }
}
