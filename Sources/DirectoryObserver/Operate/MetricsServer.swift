import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP listener of `metrics_listen`: one event loop thread and one thread for outbox reads, bound
/// at start so a taken port is refused before anything else runs. `stop()` closes the listener and ends
/// both threads; it blocks until they are gone. Sendable: NIO's group, pool and channel are.
final class MetricsServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let channel: any Channel
    /// The port actually bound (the configured one, or the one the system chose for port 0).
    let port: Int

    /// Binds `address` and serves `endpoints`; throws a `ConfigError` naming `metrics_listen` when the
    /// address cannot be bound (taken, not local, unknown host).
    init(address: ListenAddress, endpoints: MetricsEndpoints, configFile: String) throws(ConfigError) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        MetricsHTTPHandler(endpoints: endpoints, pool: pool))
                }
            }
        do {
            channel = try bootstrap.bind(host: address.host, port: address.port).wait()
        } catch {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw ConfigError(
                file: configFile, key: "metrics_listen", value: address.description,
                reason: "cannot listen: \(Self.describe(error))")
        }
        self.group = group
        self.pool = pool
        port = channel.localAddress?.port ?? address.port
    }

    /// Closes the listener and ends the server's threads.
    func stop() {
        try? channel.close().wait()
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }

    /// The system's words for a socket error (`Address already in use`), else the error's own text.
    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
