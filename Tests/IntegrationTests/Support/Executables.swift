import Foundation
import Glibc

/// Finds the package's executables for the tests that run them. A missing binary is an error, so the
/// tests fail (they do not skip) when it was not built.
enum Executables {
    /// The package root: three levels above this file (Tests/IntegrationTests/Support/).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `$DIRECTORY_OBSERVER_BIN`, else `<package root>/.build/debug/directory_observer`.
    static func directoryObserver() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["DIRECTORY_OBSERVER_BIN"], !explicit.isEmpty {
            return try executable(explicit, from: "DIRECTORY_OBSERVER_BIN")
        }
        return try executable(packageRoot + "/.build/debug/directory_observer", from: "the default build")
    }

    /// `$DIROBS_BURST_BIN`, else `dirobs-burst` beside the daemon binary, else in `.build/debug`.
    static func burst() throws -> String {
        try testSupport("dirobs-burst", override: "DIROBS_BURST_BIN")
    }

    /// `dirobs-test-child` (the crash test's appending writer) beside the daemon binary, else in
    /// `.build/debug`.
    static func testChild() throws -> String {
        try testSupport("dirobs-test-child", override: nil)
    }

    /// A test-support executable of this package: `$override` when set, else `name` beside the daemon binary
    /// (`$DIRECTORY_OBSERVER_BIN`, set by tools/test), else in `.build/debug`.
    private static func testSupport(_ name: String, override: String?) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let override, let explicit = environment[override], !explicit.isEmpty {
            return try executable(explicit, from: override)
        }
        if let daemon = environment["DIRECTORY_OBSERVER_BIN"], !daemon.isEmpty {
            let sibling = URL(fileURLWithPath: daemon).deletingLastPathComponent().appendingPathComponent(name).path
            if access(sibling, X_OK) == 0 { return sibling }
        }
        return try executable(packageRoot + "/.build/debug/" + name, from: "the default build")
    }

    private static func executable(_ path: String, from origin: String) throws -> String {
        guard access(path, X_OK) == 0 else {
            throw ExecutableMissing(detail: "\(path) (\(origin)) is not an executable file; run swift build first")
        }
        return path
    }
}

struct ExecutableMissing: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}
