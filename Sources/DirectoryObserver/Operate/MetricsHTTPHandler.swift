import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `GET /metrics` and `GET /healthz` (and `HEAD`) on one HTTP/1.1 connection; 404 for other
/// paths, 405 for other methods. Runs on the connection's event loop; the outbox read of `/metrics` runs
/// on the server's thread pool so the loop never blocks on SQLite.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: MetricsEndpoints
    private let pool: NIOThreadPool
    private var request: HTTPRequestHead?

    init(endpoints: MetricsEndpoints, pool: NIOThreadPool) {
        self.endpoints = endpoints
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            let reply = MetricsEndpoints.Reply(status: 405, contentType: "text/plain", body: Array("use GET\n".utf8))
            write(reply, for: head, context: context)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/healthz":
            write(endpoints.healthz(), for: head, context: context)
        case "/metrics":
            let endpoints = self.endpoints
            pool.runIfActive(eventLoop: context.eventLoop) { endpoints.metrics(now: Clock.now()) }
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let reply): self.write(reply, for: head, context: context)
                    case .failure: context.close(promise: nil)
                    }
                }
        default:
            let reply = MetricsEndpoints.Reply(
                status: 404, contentType: "text/plain", body: Array("try /metrics or /healthz\n".utf8))
            write(reply, for: head, context: context)
        }
    }

    private func write(_ reply: MetricsEndpoints.Reply, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: "\(reply.body.count)")
        let keepAlive = head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))),
                promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
