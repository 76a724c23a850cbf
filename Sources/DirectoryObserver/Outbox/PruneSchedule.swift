/// When the writer prunes next. Pruning goes in small steps, each in its own short transaction between
/// group commits, so the writer never stalls for long: while steps find work they follow each other at
/// once; after a step that found nothing the next one waits a second. A writer that is never idle (a
/// steady stream of events) still takes a due step after every `commitsBetweenStepsUnderLoad` commits,
/// so retained rows cannot pile up under load.
struct PruneSchedule {
    /// Events deleted per step at most.
    static let stepLimit = 2_000
    /// Deliveries looked at per queue and step.
    static let scanLimit = 2_000
    /// Seconds between steps once there is nothing left to prune.
    static let passInterval = 1.0

    /// Commits after which a due step is taken even though more work waits.
    static let commitsBetweenStepsUnderLoad = 64

    private(set) var nextStep: Double
    private var commitsSinceStep = 0

    init(now: Double) {
        nextStep = now + Self.passInterval
    }

    /// Whether a step is due now: its time has come, and the writer is idle or has committed
    /// `commitsBetweenStepsUnderLoad` times since the last step.
    func isDue(now: Double, idle: Bool) -> Bool {
        now >= nextStep && (idle || commitsSinceStep >= Self.commitsBetweenStepsUnderLoad)
    }

    /// Counts a group commit.
    mutating func recordCommit() {
        commitsSinceStep += 1
    }

    /// Moves on after a step: at once when it found work, a second later when it did not.
    mutating func record(_ step: PruneStep, now: Double) {
        commitsSinceStep = 0
        if step.finished { nextStep = now + Self.passInterval }
    }

    /// After a failed step: try again at the next pass.
    mutating func postpone(now: Double) {
        commitsSinceStep = 0
        nextStep = now + Self.passInterval
    }
}
