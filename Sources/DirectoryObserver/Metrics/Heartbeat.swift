import Synchronization

/// How one long-running thread (the outbox writer, the forwarder) tells the systemd watchdog it is alive.
/// The thread marks when it starts a piece of work and when it has finished one and rests; a reader sees
/// it alive when it rests, or when it finished work since the reader last looked. A thread stuck inside
/// one piece of work (a commit waiting on an outbox another process holds, a hung call) stops counting
/// and so stops the pings. Sendable: two atomics, written by the owning thread, read by the watchdog.
public final class Heartbeat: Sendable {
    /// What the watchdog compares between two looks.
    public struct Reading: Sendable, Equatable {
        /// Pieces of work finished so far.
        public var beats: UInt64
        /// Whether the thread is waiting for work rather than doing some.
        public var resting: Bool
    }

    private let beats = Atomic<UInt64>(0)
    private let resting = Atomic<Bool>(true)

    public init() {}

    /// The thread starts a piece of work.
    public func working() {
        resting.store(false, ordering: .releasing)
    }

    /// The thread finished a piece of work and goes on working.
    public func progressed() {
        beats.add(1, ordering: .releasing)
    }

    /// The thread finished what it had and waits for more.
    public func rested() {
        beats.add(1, ordering: .releasing)
        resting.store(true, ordering: .releasing)
    }

    public func read() -> Reading {
        Reading(beats: beats.load(ordering: .acquiring), resting: resting.load(ordering: .acquiring))
    }

    /// Whether the thread is alive now, given what was read at the previous look.
    public static func isAlive(now: Reading, before: Reading?) -> Bool {
        now.resting || now.beats != before?.beats
    }
}
