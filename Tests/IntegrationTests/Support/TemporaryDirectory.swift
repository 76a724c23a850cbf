import Foundation
import Synchronization

/// A fresh, empty directory under the system temporary directory (`$TMPDIR`, else `/tmp`), made with
/// `mkdtemp` so two tests never share one. It is removed with everything in it by `remove()` or, at the
/// latest, when the last reference goes away. Sendable: its path never changes and the "removed" flag
/// is behind a `Mutex`, so `remove()` may race with `deinit` safely.
final class TemporaryDirectory: Sendable {
    /// The directory's absolute path, without a trailing slash.
    let path: String
    private let removed = Mutex(false)

    /// Creates the directory; `prefix` appears in its name to tell who made it. `base` (e.g. `/dev/shm`)
    /// replaces the system temporary directory.
    init(prefix: String = "dirobs-test", base: String? = nil) throws {
        let base = base ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base.hasSuffix("/") ? String(base.dropLast()) : base)/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TemporaryDirectoryError(detail: "mkdtemp in \(base) failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    deinit {
        remove()
    }

    /// The URL of the directory.
    var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    /// The path of `name` inside the directory (nothing is created).
    func appending(_ name: String) -> String {
        path + "/" + name
    }

    /// Removes the directory and its contents; later calls do nothing. Failures are ignored: a test
    /// must not fail because cleanup raced with a process still writing there.
    func remove() {
        let first = removed.withLock { removed in
            defer { removed = true }
            return !removed
        }
        if first {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// The temporary directory could not be made.
struct TemporaryDirectoryError: Error, CustomStringConvertible {
    let detail: String
    var description: String { "cannot create a temporary directory: \(detail)" }
}
