/// When the writer prunes next. Pruning goes in small steps, each in its own short transaction between
/// group commits, so the writer never stalls for long: while steps find work they follow each other at
/// once. After a step that found nothing, the next is due when the oldest delivery still retained grows
/// older than the retention, and never while nothing is delivered: an idle writer has no timer to wake
/// for. A writer that is never idle (a steady stream of events) still takes a due step after every
/// `commitsBetweenStepsUnderLoad` commits, so retained rows cannot pile up under load.
struct PruneSchedule {
    /// Events deleted per step at most.
    static let stepLimit = 2_000
    /// Deliveries looked at per queue and step.
    static let scanLimit = 2_000
    /// Seconds before a failed step is tried again.
    static let retryInterval = 1.0
    /// Commits after which a due step is taken even though more work waits.
    static let commitsBetweenStepsUnderLoad = 64

    /// When the next step is due (monotonic seconds); infinity while nothing can become prunable.
    private(set) var nextStep: Double
    private var commitsSinceStep = 0

    /// A schedule whose first step is due at once (it finds what an earlier run left to prune).
    init(now: Double) {
        nextStep = now
    }

    /// Whether a step is due now: its time has come, and the writer is idle or has committed
    /// `commitsBetweenStepsUnderLoad` times since the last step.
    func isDue(now: Double, idle: Bool) -> Bool {
        now >= nextStep && (idle || commitsSinceStep >= Self.commitsBetweenStepsUnderLoad)
    }

    /// Counts a group commit. A commit may record a delivery, which becomes prunable `retention` seconds
    /// later: when no step is scheduled, one is, then.
    mutating func recordCommit(now: Double, retention: Double) {
        commitsSinceStep += 1
        if nextStep == .infinity { nextStep = now + retention }
    }

    /// Moves on after a step: at once when it found work; otherwise in `nextDueIn` seconds (when the
    /// oldest retained delivery ages out), or not until a commit when nothing is retained.
    mutating func record(_ step: PruneStep, now: Double, nextDueIn: Double?) {
        commitsSinceStep = 0
        guard step.finished else {
            nextStep = now
            return
        }
        nextStep = nextDueIn.map { now + max(0, $0) } ?? .infinity
    }

    /// After a failed step: try again a little later.
    mutating func postpone(now: Double) {
        commitsSinceStep = 0
        nextStep = now + Self.retryInterval
    }
}
