import Glibc

/// One directory path the watcher keeps armed, with the monitors that share it (several monitors may
/// watch the same directory, e.g. for different queues).
struct WatchedDirectory {
    enum Status: Equatable {
        /// Not armed yet (at start, or after the inotify instance was rebuilt).
        case notArmed
        /// Watched with this watch descriptor.
        case watching(Int32)
        /// Not watched: missing, moved away, deleted or unreadable; checked every second.
        case unavailable(reason: String)
    }

    let path: String
    /// Indexes into the watcher's monitors.
    let monitors: [Int]
    /// The inotify mask these monitors need.
    let mask: UInt32
    var status: Status = .notArmed
    /// Next monotonic time a forced re-listing is due, per monitor index (forced_poll > 0 only).
    var nextForcedPoll: [Int: Double] = [:]
    /// A listing that failed (the directory unreadable, no room for its spool): tried again when due,
    /// for the same monitors, until one succeeds.
    var failedListing: FailedListing?

    struct FailedListing {
        var monitors: Set<Int>
        var due: Double
        var backoff: Backoff
    }

    var watch: Int32? {
        if case .watching(let descriptor) = status { return descriptor }
        return nil
    }

    /// The mask for monitors announcing on creation, on close, or both.
    static func mask(for modes: Set<AnnounceMode>) -> UInt32 {
        var mask =
            UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVE_SELF) | UInt32(IN_DELETE_SELF)
            | UInt32(IN_ONLYDIR)
        if modes.contains(.close) {
            mask |= UInt32(IN_CLOSE_WRITE) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)
        }
        return mask
    }
}
