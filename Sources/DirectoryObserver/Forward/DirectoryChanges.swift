import Glibc

/// Tells, with one `stat` of a directory instead of a lookup per file, that files seen in it are still
/// there. Removing an entry (or renaming it away) sets the directory's status-change time (ctime) from
/// the kernel's clock, and no user can set a ctime back. So a directory whose ctime is older than a
/// sighting, by more than the clock's coarseness, has lost no entry since: every file seen then is still
/// there.
///
/// Any doubt (a change after the sighting, a directory that cannot be looked at) answers "changed", and
/// the caller looks at the file itself: this spares lookups, it never makes a file that is there look
/// gone. Only a clock stepped back after a sighting can make a removed file look present; its event is
/// then announced, as it would have been a moment earlier (a spurious message, never a lost one).
///
/// Each directory is looked at once per value, so keep one only for one batch's checks.
struct DirectoryChanges {
    /// How far the clock that stamps file times may lag real time (a tick, 1 to 10 ms), with room to spare.
    static let clockCoarseness = 0.1

    /// Per directory, its ctime in Unix seconds; nil when it could not be looked at.
    private var statusChanged: [String: Double?] = [:]

    /// Whether no entry of `directory` was removed since `seenAt` (Unix seconds).
    mutating func unchanged(_ directory: String, since seenAt: Double) -> Bool {
        let changed: Double?
        if let known = statusChanged[directory] {
            changed = known
        } else {
            changed = Self.statusChangeTime(of: directory)
            statusChanged[directory] = changed
        }
        guard let changed else { return false }
        return changed < seenAt - Self.clockCoarseness
    }

    private static func statusChangeTime(of directory: String) -> Double? {
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1_000_000_000
    }
}
