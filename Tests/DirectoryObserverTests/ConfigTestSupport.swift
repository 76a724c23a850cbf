import Foundation

@testable import DirectoryObserver

/// A fresh directory per test, removed when the scratch goes away (suites hold one as a property, and
/// Swift Testing makes a suite instance per test); configuration files are written into it by name.
final class ConfigScratch: Sendable {
    private let directory = TemporaryDirectory()
    var path: String { directory.path }

    /// Writes `text` to `name` (sub-directories created) and returns the file's absolute path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    /// Writes raw bytes to `name` and returns the file's absolute path.
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Loads `config.ini` written with `text`, with `environment` and this directory as working directory.
    func load(_ text: String, environment: [String: String] = [:]) throws -> Configuration {
        let file = try write("config.ini", text)
        return try ConfigLoader.load(path: file, environment: environment, workingDirectory: path)
    }

    /// The one-line description of the error loading `text` throws, nil if it loads.
    func loadError(_ text: String, environment: [String: String] = [:]) throws -> ConfigError? {
        let file = try write("config.ini", text)
        do {
            _ = try ConfigLoader.load(path: file, environment: environment, workingDirectory: path)
            return nil
        } catch {
            return error
        }
    }
}

/// A minimal valid monitor section, to which tests add the keys they are about.
func monitorSection(_ name: String = "m", extra: String = "") -> String {
    """
    [\(name)]
    active=true
    directory=dir/\(name)
    queue=queue:\(name)
    \(extra)

    """
}

/// The content of shared/compat/original-layout.ini, a file in the original tool's layout.
let originalLayout = #"""
    # A configuration in the layout the original Python directory_observer reads.
    # Every file of this shape must load unchanged (see SPEC.md section 3).

    [common]

    # Monitors are off unless a section turns them on.
    active=false

    # Re-list each directory this often, in seconds (0 = no periodic listing).
    forced_poll=300

    # A listing never makes a queue longer than this.
    poll_queue_limit=10000

    # Seconds without any event before the watch is rebuilt.
    monitor_inactivitytimeout=300

    # Keys are case-insensitive: the original's files spell some of them this way.
    Redis_server=127.0.0.1
    Redis_port=8080
    redis_unix_socket=null

    # Redis connect and command timeout, seconds.
    timeout=10

    # Names to skip, ';'-separated regular expressions matched from the start of the name.
    ignore=^.*\.t$;^.*\.tmp$;^.*\.[0-9][0-9]$;^.*\.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$

    # Names to keep.
    only=^.*$

    ######################################################################

    [stage1:common]
    active=true
    directory=dir/stage1
    queue=queue:stage1
    counter=counter:stage1

    [stage2:common]
    active=true
    directory=dir/stage2
    queue=queue:stage2
    counter=counter:stage2

    """#
