/// When the writer prunes next. Pruning goes in small steps, each in its own short transaction between
/// group commits, so the writer never stalls for long: while steps find work they follow each other at
/// once; after a step that found nothing the next one waits a second.
struct PruneSchedule {
    /// Events deleted per step at most.
    static let stepLimit = 2_000
    /// Deliveries looked at per queue and step.
    static let scanLimit = 2_000
    /// Seconds between steps once there is nothing left to prune.
    static let passInterval = 1.0

    private(set) var nextStep: Double

    init(now: Double) {
        nextStep = now + Self.passInterval
    }

    func isDue(now: Double) -> Bool { now >= nextStep }

    /// Moves on after a step: at once when it found work, a second later when it did not.
    mutating func record(_ step: PruneStep, now: Double) {
        if step.finished { nextStep = now + Self.passInterval }
    }

    /// After a failed step: try again at the next pass.
    mutating func postpone(now: Double) {
        nextStep = now + Self.passInterval
    }
}
