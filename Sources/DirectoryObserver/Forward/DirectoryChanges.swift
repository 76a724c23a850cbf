import CDirObsFileSystem
import Glibc

/// Tells, with one `stat` of a directory instead of a lookup per file, that files seen in it are still
/// there. Removing an entry (or renaming it away) sets the directory's status-change time (ctime) from
/// the kernel's clock, and no user can set a ctime back. So a directory whose ctime is older than a
/// sighting, by more than the clock's coarseness, has lost no entry since: every file seen then is still
/// there.
///
/// It vouches only for directories on local filesystems that keep times to the nanosecond (ext4, XFS,
/// Btrfs, tmpfs, F2FS, overlayfs), whose ctime carries a fraction (a whole second is the mark of a
/// filesystem that keeps seconds only). Any doubt (a change after the sighting, a directory that cannot be
/// looked at, another filesystem) answers "changed", and the caller looks at the file itself: this spares
/// lookups, it never makes a file that is there look gone. What can make a removed file look present: a
/// clock stepped back after the sighting, or the path now naming another directory that has not changed
/// since (a symbolic link pointed elsewhere, a filesystem mounted over it). Its event is then announced, as
/// it would have been a moment earlier: a message for a file already gone, never a lost one.
///
/// Each directory is looked at once per value, so keep one only for one batch's checks.
struct DirectoryChanges {
    /// How far the clock that stamps file times may lag real time (a tick, 1 to 10 ms), with room to spare.
    static let clockCoarseness = 0.1

    /// `statfs` types whose times are this machine's, to the nanosecond: ext2/3/4, XFS, Btrfs, tmpfs,
    /// F2FS, overlayfs.
    static let localFileSystems: Set<Int> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0xF2F5_2010, 0x794C_7630]

    /// Per directory, its ctime on this machine's clock, in Unix seconds; nil when it cannot vouch for it.
    private var statusChanged: [String: Double?] = [:]

    /// Whether no entry of `directory` was removed since `seenAt` (Unix seconds, as `Clock.now()` gives).
    mutating func unchanged(_ directory: String, since seenAt: Double) -> Bool {
        let changed: Double?
        if let known = statusChanged[directory] {
            changed = known
        } else {
            changed = Self.statusChangeTime(of: directory)
            statusChanged[directory] = changed
        }
        guard let changed else { return false }
        return changed < seenAt - Clock.shift - Self.clockCoarseness
    }

    private static func statusChangeTime(of directory: String) -> Double? {
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_ctim.tv_nsec != 0 else {
            return nil
        }
        var fileSystem = statfs()
        guard statfs(directory, &fileSystem) == 0, localFileSystems.contains(Int(fileSystem.f_type)) else {
            return nil
        }
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1_000_000_000
    }
}
