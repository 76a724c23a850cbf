import BenchSupport
import DirectoryObserver
import Glibc

/// A redis-server child on a free loopback port, killed at the end.
final class RedisChild {
    let port: Int
    let pid: pid_t
    let directory: String

    init(directory: String) {
        self.directory = directory
        port = Self.freePort()
        let arguments = [
            "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--daemonize", "no", "--logfile", directory + "/redis.log",
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let code = posix_spawnp(&child, "redis-server", &actions, nil, argv, environ)
        guard code == 0 else {
            BenchOutput.fail("dirobs-bench-drain: cannot start redis-server: \(String(cString: strerror(code)))")
        }
        pid = child
        let deadline = Clock.monotonic() + 15
        while Clock.monotonic() < deadline {
            if let connection = try? RedisConnection(endpoint: endpoint, timeout: 0.5),
                case .status("PONG") = try? connection.command("PING")
            {
                return
            }
            usleep(20_000)
        }
        kill(child, SIGKILL)
        BenchOutput.fail("dirobs-bench-drain: redis-server on port \(port) did not answer PING")
    }

    var endpoint: RedisEndpoint { .tcp(host: "127.0.0.1", port: port) }

    func command(_ arguments: String...) throws -> RedisReply {
        try RedisConnection(endpoint: endpoint, timeout: 10).command(arguments.map { Array($0.utf8) })
    }

    func stop() {
        _ = try? command("SHUTDOWN", "NOSAVE")
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { BenchOutput.fail("dirobs-bench-drain: cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
