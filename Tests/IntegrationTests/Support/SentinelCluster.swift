import Foundation
import Glibc

@testable import DirectoryObserver

/// A master, one replica and three sentinels (`redis-server --sentinel`, quorum 2), all private processes
/// on loopback ports, for failover tests. The sentinels call the master `main` and consider it down after
/// one second without an answer. Everything stops when the cluster goes away.
final class SentinelCluster {
    let master: RedisServer
    let replica: RedisServer
    let sentinels: [RedisServer]
    static let masterName = "main"

    init() throws {
        master = try RedisServer()
        replica = try RedisServer(arguments: ["--replicaof", "127.0.0.1", String(master.port)])
        let configuration = """
            sentinel monitor \(Self.masterName) 127.0.0.1 \(master.port) 2
            sentinel down-after-milliseconds \(Self.masterName) 1000
            sentinel failover-timeout \(Self.masterName) 4000
            sentinel parallel-syncs \(Self.masterName) 1

            """
        sentinels = try (0..<3).map { _ in try RedisServer(arguments: ["--sentinel"], configFile: configuration) }
        guard waitUntil(seconds: 15, { self.replicaInSync() && self.sentinelsKnowTheReplica() }) else {
            throw FixtureError(detail: "the replica did not sync or the sentinels did not find it within 15 s")
        }
    }

    /// The settings that reach the master through the sentinels.
    var settings: SentinelSettings {
        SentinelSettings(sentinels: sentinels.map(\.endpoint), master: Self.masterName)
    }

    /// The port the sentinels name as master now, nil when none answers.
    func masterPort() -> Int? {
        for sentinel in sentinels {
            if case .array(let parts) = try? sentinel.connect(timeout: 0.5).command(
                "SENTINEL", "get-master-addr-by-name", Self.masterName), parts.count == 2,
                let port = parts[1].integerValue
            {
                return Int(port)
            }
        }
        return nil
    }

    private func replicaInSync() -> Bool {
        guard let info = try? replica.command("INFO", "replication").stringValue else { return false }
        return info.contains("master_link_status:up")
    }

    private func sentinelsKnowTheReplica() -> Bool {
        sentinels.allSatisfy { sentinel in
            guard
                case .array(let replicas)? = try? sentinel.connect(timeout: 0.5).command(
                    "SENTINEL", "replicas", Self.masterName)
            else { return false }
            guard
                case .array(let others)? = try? sentinel.connect(timeout: 0.5).command(
                    "SENTINEL", "sentinels", Self.masterName)
            else { return false }
            return replicas.count == 1 && others.count == 2
        }
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Clock.monotonic() + seconds
        while Clock.monotonic() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return false
    }
}
