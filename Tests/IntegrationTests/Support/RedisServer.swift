import DirectoryObserver
import Foundation
import Glibc
import Synchronization

/// A private `redis-server` for one test: `--port P --bind 127.0.0.1 --save '' --appendonly no` on a
/// free loopback port (never 6379), working in its own `TemporaryDirectory`, started with
/// `posix_spawn` and answering PING by the time `init` returns. It is stopped with `SHUTDOWN NOSAVE`,
/// then SIGKILL by pid, and reaped — by `stop()` or, at the latest, in `deinit`.
///
/// A missing `redis-server` is an error thrown by `init`, so a test using it fails instead of skipping.
/// The binary is `$REDIS_SERVER` when set, else the first `redis-server` on `PATH`.
///
/// Sendable: every stored property is immutable except the process state, which is behind a `Mutex`;
/// the blocking work (`stop`, `restart`) runs on the caller's thread outside the lock.
final class RedisServer: Sendable {
    /// The loopback port it listens on; `restart()` keeps it.
    let port: Int
    /// The password it requires (`--requirepass`), or nil. `connect()` and the helpers use it.
    let password: String?
    /// The unix socket it also listens on (mode 700), or nil.
    let unixSocketPath: String?
    /// Its working directory; its output goes to `redis.log` there.
    let directory: TemporaryDirectory

    private let executable: String
    private let extraArguments: [String]
    /// A configuration file given before every other argument (a sentinel's), or nil.
    private let configFile: String?
    private let state = Mutex(State())

    private struct State {
        var pid: pid_t?
        var paused = false
    }

    /// How long `init` and `restart()` wait for the first PONG.
    private static let startupTimeout: Double = 15

    /// Starts the server and waits until it answers PING.
    /// - Parameters:
    ///   - password: adds `--requirepass`.
    ///   - unixSocket: also listen on `redis.sock` in the server's directory (`unixSocketPath`).
    ///   - arguments: more `redis-server` arguments, e.g. `["--maxmemory", "1mb"]`.
    ///   - configFile: a file written into the server's directory with this text and given as the first
    ///     argument (e.g. a sentinel's configuration, with `arguments: ["--sentinel"]`).
    init(
        password: String? = nil, unixSocket: Bool = false, arguments: [String] = [], configFile text: String? = nil
    ) throws {
        executable = try Self.findExecutable()
        directory = try TemporaryDirectory(prefix: "dirobs-redis")
        if let text {
            let file = directory.appending("server.conf")
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            configFile = file
        } else {
            configFile = nil
        }
        self.password = password
        unixSocketPath = unixSocket ? directory.appending("redis.sock") : nil
        var extra: [String] = []
        if let password { extra += ["--requirepass", password] }
        if let unixSocketPath { extra += ["--unixsocket", unixSocketPath, "--unixsocketperm", "700"] }
        extraArguments = extra + arguments

        // Another process can take the probed port before redis binds it: try a few ports.
        var lastFailure: RedisServerError?
        for _ in 0..<5 {
            let candidate = try Self.freeLoopbackPort()
            switch try Self.launch(
                executable: executable, port: candidate, arguments: extraArguments, directory: directory,
                password: password, configFile: configFile)
            {
            case .running(let pid):
                port = candidate
                state.withLock { $0.pid = pid }
                return
            case .exited(let failure):
                lastFailure = failure
                guard failure.portInUse else { throw failure }
            }
        }
        throw lastFailure ?? RedisServerError(detail: "no free port found")
    }

    deinit {
        stop()
    }

    // MARK: - Connecting

    /// The TCP endpoint of the server.
    var endpoint: RedisEndpoint { .tcp(host: "127.0.0.1", port: port) }

    /// The process id while the server runs, nil once stopped.
    var pid: pid_t? { state.withLock { $0.pid } }

    /// Opens a new connection over TCP, authenticated when the server has a password.
    func connect(timeout: Double = 2) throws -> RedisConnection {
        let connection = try RedisConnection(endpoint: endpoint, timeout: timeout)
        if let password { try connection.authenticate(username: nil, password: password) }
        return connection
    }

    /// Runs one command on a new connection; an error reply is thrown as a `RedisError`.
    @discardableResult
    func command(_ arguments: String...) throws -> RedisReply {
        try connect().command(arguments.map { Array($0.utf8) })
    }

    /// The whole list at `key` (`LRANGE key 0 -1`), in Redis order; empty when the key is missing.
    func list(_ key: String) throws -> [[UInt8]] {
        guard case .array(let elements) = try command("LRANGE", key, "0", "-1") else {
            throw RedisServerError(detail: "LRANGE \(key) did not answer with an array")
        }
        return try elements.map { element in
            guard case .bulk(let bytes) = element else {
                throw RedisServerError(detail: "LRANGE \(key) returned a non-bulk element")
            }
            return bytes
        }
    }

    // MARK: - Controlling the process

    /// Stops the server: `SHUTDOWN NOSAVE`, up to 2 s for it to exit, then SIGKILL, and reaps it.
    /// Does nothing when it is not running. Never throws: it is cleanup.
    func stop() {
        let taken = state.withLock { state -> (pid: pid_t, paused: Bool)? in
            guard let pid = state.pid else { return nil }
            defer { state = State() }
            return (pid, state.paused)
        }
        guard let taken else { return }
        let pid = taken.pid
        if taken.paused { kill(pid, SIGCONT) }
        if let connection = try? connect(timeout: 1) {
            // The server closes the connection instead of replying: an `.eof` error is success here.
            _ = try? connection.command("SHUTDOWN", "NOSAVE")
        }
        if !Self.reap(pid, within: 2) {
            kill(pid, SIGKILL)
            _ = Self.reap(pid, within: nil)
        }
    }

    /// Stops the server and starts a new one on the same port and directory, with the same arguments.
    func restart() throws {
        stop()
        switch try Self.launch(
            executable: executable, port: port, arguments: extraArguments, directory: directory,
            password: password, configFile: configFile)
        {
        case .running(let pid): state.withLock { $0.pid = pid }
        case .exited(let failure): throw failure
        }
    }

    /// Kills the server with SIGKILL (no shutdown, nothing saved) and reaps it, as a crash would.
    func kill9() {
        let taken = state.withLock { state -> pid_t? in
            defer { state = State() }
            return state.pid
        }
        guard let pid = taken else { return }
        kill(pid, SIGKILL)
        _ = Self.reap(pid, within: nil)
    }

    /// Freezes the server with SIGSTOP: it keeps its sockets but answers nothing until `resume()`.
    func pause() throws {
        try send(SIGSTOP, paused: true)
    }

    /// Lets a paused server run again with SIGCONT.
    func resume() throws {
        try send(SIGCONT, paused: false)
    }

    private func send(_ signal: Int32, paused: Bool) throws {
        try state.withLock { state throws(RedisServerError) in
            guard let pid = state.pid else { throw RedisServerError(detail: "the server is not running") }
            guard kill(pid, signal) == 0 else {
                throw RedisServerError(detail: "kill(\(pid), \(signal)) failed: \(String(cString: strerror(errno)))")
            }
            state.paused = paused
        }
    }

    // MARK: - Starting

    private enum Launch {
        case running(pid_t)
        case exited(RedisServerError)
    }

    /// Spawns redis-server on `port` and polls PING until it answers, it exits, or time runs out.
    private static func launch(
        executable: String, port: Int, arguments: [String], directory: TemporaryDirectory, password: String?,
        configFile: String?
    ) throws -> Launch {
        let log = directory.appending("redis.log")
        let pid = try spawn(
            executable: executable,
            arguments: (configFile.map { [$0] } ?? []) + [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory.path, "--daemonize", "no",
            ] + arguments,
            output: log)
        let deadline = Date().addingTimeInterval(startupTimeout)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                return .exited(
                    RedisServerError(
                        detail: "redis-server on port \(port) exited with status \(status): \(text.suffix(600))",
                        portInUse: text.contains("Address already in use")))
            }
            if let connection = try? RedisConnection(endpoint: .tcp(host: "127.0.0.1", port: port), timeout: 0.5) {
                if let password { try? connection.authenticate(username: nil, password: password) }
                if case .status("PONG") = try? connection.command("PING") {
                    return .running(pid)
                }
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        _ = reap(pid, within: nil)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw RedisServerError(
            detail: "redis-server on port \(port) did not answer PING within \(Int(startupTimeout)) s: "
                + String(text.suffix(600)))
    }

    /// `posix_spawn` with stdin from /dev/null, stdout and stderr appended to `output`, every other
    /// descriptor closed (a test's sockets must not leak into the server), and an empty signal mask with
    /// default dispositions, so a signal blocked or ignored in the test process is not blocked in redis.
    private static func spawn(executable: String, arguments: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc >= 2.34 has it, but only under _GNU_SOURCE, which Swift's Glibc module does not define.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard code == 0 else {
            throw RedisServerError(detail: "posix_spawn \(executable) failed: \(String(cString: strerror(code)))")
        }
        return pid
    }

    /// Waits for `pid` to exit and reaps it; `within` nil waits for ever. True once it is gone.
    private static func reap(_ pid: pid_t, within seconds: Double?) -> Bool {
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) { return true }
            if result == -1 && errno != EINTR { return false }
            if let deadline, Date() >= deadline { return false }
            if deadline != nil { usleep(10_000) }
        }
    }

    /// A loopback port nobody listens on right now: bind port 0 and read back what the kernel chose.
    private static func freeLoopbackPort() throws -> Int {
        for _ in 0..<10 {
            let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard socketFD >= 0 else {
                throw RedisServerError(detail: "socket() failed: \(String(cString: strerror(errno)))")
            }
            defer { close(socketFD) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    bind(socketFD, generic, length) == 0 && getsockname(socketFD, generic, &length) == 0
                }
            }
            guard ok else {
                throw RedisServerError(detail: "bind() to 127.0.0.1:0 failed: \(String(cString: strerror(errno)))")
            }
            let port = Int(UInt16(bigEndian: address.sin_port))
            if port != 6379 { return port }
        }
        throw RedisServerError(detail: "the kernel kept choosing port 6379")
    }

    /// `$REDIS_SERVER`, else `redis-server` on `PATH`; a clear error when there is none.
    private static func findExecutable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["REDIS_SERVER"], !explicit.isEmpty {
            guard access(explicit, X_OK) == 0 else {
                throw RedisServerError(detail: "REDIS_SERVER=\(explicit) is not an executable file")
            }
            return explicit
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/redis-server"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw RedisServerError(
            detail: "redis-server is not installed (not on PATH \(path)); install it (apt-get install redis-server) "
                + "or set REDIS_SERVER; integration tests need it and do not skip")
    }
}

/// The test Redis server could not be started or controlled.
struct RedisServerError: Error, CustomStringConvertible {
    let detail: String
    /// True when redis-server exited because its port was taken (the caller may retry another port).
    var portInUse = false

    var description: String { "test redis-server: \(detail)" }
}
