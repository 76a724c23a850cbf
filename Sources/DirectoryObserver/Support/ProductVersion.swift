import CDirObsHiredis
import CDirObsSQLite

/// What `directory_observer --version` prints: this release, the outbox schema it writes, and the SQLite
/// and hiredis libraries it runs with, on one line.
public enum ProductVersion {
    /// This release of directory_observer; bumped when a release is tagged.
    public static let release = "0.5.0"

    /// The SQLite library loaded at run time (`sqlite3_libversion`).
    public static var sqlite: String { String(cString: sqlite3_libversion()) }

    /// The hiredis headers built against; Debian's soname (`libhiredis.so.0.14`) pins the library to them.
    public static var hiredis: String { "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)" }

    /// For example `directory_observer 0.5.0 (outbox schema 2, SQLite 3.40.1, hiredis 0.14.1)`.
    public static var line: String {
        "directory_observer \(release) (outbox schema \(Migrations.latestVersion), SQLite \(sqlite), hiredis \(hiredis))"
    }
}
