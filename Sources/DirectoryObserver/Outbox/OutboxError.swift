/// Why an outbox could not be opened or used, in words that tell the operator what to fix.
public struct OutboxError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// No file at the path, and this command never creates one.
        case missing
        /// The outbox's directory does not exist.
        case directoryMissing(String)
        /// The outbox's directory (or the file) cannot be written.
        case notWritable(String)
        /// The path is a directory or another non-regular file.
        case notAFile
        /// The file is not an SQLite database (or is empty).
        case notSQLite
        /// An SQLite database of another application.
        case foreignDatabase(applicationID: Int32)
        /// The schema is newer than this binary knows.
        case newerSchema(found: Int, known: Int)
        /// The schema is older than this binary reads, and this command does not upgrade it (only the
        /// daemon, or `drain`, does).
        case olderSchema(found: Int, known: Int)
        /// `PRAGMA quick_check` did not answer `ok`.
        case integrity(String)
        /// Another process holds the outbox's lock.
        case locked(holderPID: Int32?)
        /// An event id the outbox does not have.
        case unknownEvent(Int64)
        /// A request the outbox refuses (e.g. purging pending events).
        case refused(String)
        /// The file at the path is no longer the one a running daemon writes (removed, moved or replaced
        /// under it); the daemon commits nothing more and stops.
        case detached(String)
        /// SQLite failed.
        case sqlite(SQLiteError)
        /// A system call failed.
        case system(SystemError)
    }

    public let path: String
    public let reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .missing:
            return "outbox \(path) does not exist (this command never creates one)"
        case .directoryMissing(let directory):
            return "outbox \(path): directory \(directory) does not exist (it is not created; create it first)"
        case .notWritable(let what):
            return "outbox \(path): \(what) is not writable"
        case .notAFile:
            return "outbox \(path) is not a regular file"
        case .notSQLite:
            return "outbox \(path) is not an SQLite database: refusing to touch it"
        case .foreignDatabase(let applicationID):
            return "outbox \(path) is an SQLite database of another application (application_id \(applicationID)), "
                + "not a directory_observer outbox: refusing to touch it"
        case .newerSchema(let found, let known):
            return "outbox \(path) has schema version \(found), newer than this binary knows (\(known)): "
                + "use a newer directory_observer"
        case .olderSchema(let found, let known):
            return "outbox \(path) has schema version \(found), older than this binary reads (\(known)): "
                + "start this version's daemon (or drain) once to upgrade it; nothing was changed"
        case .integrity(let result):
            return "outbox \(path) fails its integrity check: \(result)"
        case .locked(let pid):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return "outbox \(path) is locked by \(holder) (a running daemon or drain)"
        case .unknownEvent(let id):
            return "outbox \(path) has no event with id \(id)"
        case .refused(let why):
            return "outbox \(path): \(why)"
        case .detached(let what):
            return "outbox \(path): \(what) while the daemon ran; committing nothing more to the old files "
                + "and stopping (restart the daemon on the outbox now at the path)"
        case .sqlite(let error):
            return "outbox \(path): \(error)"
        case .system(let error):
            return "outbox \(path): \(error)"
        }
    }
}
