import Foundation

/// When the watcher pauses between two reads of the kernel queue.
///
/// Guarantees: a read that finds one event (files arriving slower than the watcher wakes) is never
/// followed by a pause, so a lone file reaches the outbox at once. A read that finds two or more is a
/// burst: the watcher then lets the queue fill for `pauseMilliseconds` before it reads again, so it wakes,
/// and hands a batch to the outbox, once per pause instead of once per few events. A read that finds more
/// than an eighth of the kernel's `max_queued_events` is not followed by a pause either, so the queue
/// never overflows during a pause at a rate the watcher keeps up with when it reads without pausing.
public struct ReadPacing: Equatable, Sendable {
    /// The pause after a read in a burst.
    public static let pauseMilliseconds: Int32 = 2
    /// The kernel's default `max_queued_events`, used when `/proc` cannot be read.
    public static let defaultQueueLimit = 16_384

    /// Events the kernel queues per inotify instance before it drops them (`max_queued_events`).
    public let queueLimit: Int

    public init(queueLimit: Int) {
        self.queueLimit = queueLimit
    }

    /// The milliseconds to wait before the next read, after a read that returned `events`; nil for none.
    public func pause(afterReading events: Int) -> Int32? {
        guard events >= 2, events <= queueLimit / 8 else { return nil }
        return Self.pauseMilliseconds
    }

    /// The pacing for this machine's `/proc/sys/fs/inotify/max_queued_events`.
    public static func forThisMachine() -> ReadPacing {
        ReadPacing(queueLimit: queueLimit(fromProcText: try? String(contentsOfFile: procPath, encoding: .utf8)))
    }

    static let procPath = "/proc/sys/fs/inotify/max_queued_events"

    /// The limit written in `text` (the `/proc` file's content), or the kernel's default when it is missing
    /// or not a positive number.
    static func queueLimit(fromProcText text: String?) -> Int {
        guard let text, let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 else {
            return defaultQueueLimit
        }
        return limit
    }
}
