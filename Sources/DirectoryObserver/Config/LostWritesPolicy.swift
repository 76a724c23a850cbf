/// `redis_lost_writes`: what the forwarder does when Redis holds less of a queue than the outbox recorded
/// as delivered (SPEC §8). Either way one warning line names the counts.
public enum LostWritesPolicy: String, Sendable, Equatable, CaseIterable {
    /// The events above Redis's watermark still in the outbox are pushed again, oldest first, before any
    /// newer event of the queue (a possible duplicate is acceptable, a silent loss is not).
    case resend
    /// Nothing is resent; Redis's watermark is moved up to the outbox's record.
    case ignore
}
