import CDirObsHiredis
import Glibc

/// One blocking connection to Redis over hiredis. It is not Sendable: the thread that made it is the
/// only one that uses it. Every reply is copied into a `RedisReply` and freed at once. After any
/// connection-level error the context is dead: every later call throws, and the owner reconnects by
/// making a new `RedisConnection`. The context is freed exactly once, in `deinit`.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    private var failure: RedisError?
    /// Where this connection goes.
    public let endpoint: RedisEndpoint

    /// Connects within `timeout` seconds, then applies the same timeout to every command and enables
    /// TCP keep-alive.
    public init(endpoint: RedisEndpoint, timeout: Double) throws(RedisError) {
        let interval = Self.timeval(seconds: timeout)
        let made: UnsafeMutablePointer<redisContext>?
        switch endpoint {
        case .tcp(let host, let port): made = redisConnectWithTimeout(host, Int32(port), interval)
        case .unix(let path): made = redisConnectUnixWithTimeout(path, interval)
        }
        guard let made else {
            throw RedisError(kind: .connection, detail: "cannot allocate a hiredis context for \(endpoint)")
        }
        if made.pointee.err != 0 {
            let error = Self.contextError(made, savedErrno: errno, endpoint: endpoint)
            redisFree(made)
            throw error
        }
        self.context = made
        self.endpoint = endpoint
        guard redisSetTimeout(made, interval) == REDIS_OK else {
            throw contextFailure()
        }
        if case .tcp = endpoint {
            _ = redisEnableKeepAlive(made)
        }
    }

    deinit {
        redisFree(context)
    }

    /// True once a connection-level error has made this connection unusable.
    public var isBroken: Bool { failure != nil }

    // MARK: - Commands

    /// Sends one command and returns its reply; an error reply is thrown as a `.reply` error.
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try pipeline([arguments])[0].get()
    }

    /// Sends one command given as text arguments.
    public func command(_ arguments: String...) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Pipelining: sends every command, then reads exactly one reply per command, in one round trip.
    /// Error replies come back as `.error` in their own slot; a connection-level failure throws and
    /// breaks the connection.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        var encoded = RESPCommands()
        for arguments in commands { encoded.append(arguments) }
        return try pipeline(encoded)
    }

    /// Sends encoded commands and reads one reply per command, in one round trip.
    public func pipeline(_ commands: RESPCommands) throws(RedisError) -> [RedisReply] {
        try send(commands)
        return try receive(commands.count)
    }

    /// Writes encoded commands out without waiting for their replies: the caller may work while Redis
    /// runs them, then must read exactly `commands.count` replies with `receive` before sending more
    /// that it wants answered in order. The bytes go straight from `commands` to the socket (hiredis's
    /// own output buffer stays empty, so its reads are unaffected): a round of a few megabytes is not
    /// copied into a buffer that grows by doubling and is freed after every write. They go with
    /// `MSG_NOSIGNAL`: a server that reset the connection (it died while a large pipeline was going out)
    /// makes the send fail with `EPIPE`, a `.connection` error, instead of raising SIGPIPE, whose default
    /// action kills the whole process.
    public func send(_ commands: RESPCommands) throws(RedisError) {
        if let failure { throw failure }
        let fd = context.pointee.fd
        let outcome = commands.bytes.withUnsafeBytes { bytes -> RedisError? in
            var offset = 0
            while offset < bytes.count {
                let sent = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent > 0 {
                    offset += sent
                    continue
                }
                let code = sent == 0 ? EPIPE : errno
                if code == EINTR { continue }
                let detail = "\(endpoint): send: \(String(cString: strerror(code)))"
                let timedOut = code == EAGAIN || code == EWOULDBLOCK
                return RedisError(kind: timedOut ? .timeout : .connection, detail: detail)
            }
            return nil
        }
        if let outcome {
            // Part of a command may have gone out: the connection cannot be used again.
            failure = outcome
            throw outcome
        }
    }

    /// Reads `count` replies, in order. Only reads: every command goes out through `send`, so hiredis
    /// never has anything of its own to write first (and no write here can raise SIGPIPE).
    public func receive(_ count: Int) throws(RedisError) -> [RedisReply] {
        if let failure { throw failure }
        var replies: [RedisReply] = []
        replies.reserveCapacity(count)
        for _ in 0..<count {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw contextFailure()
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.copy(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// AUTH with a password, or with a username and a password (Redis 6 ACLs).
    public func authenticate(username: String?, password: String) throws(RedisError) {
        if let username, !username.isEmpty {
            _ = try command("AUTH", username, password)
        } else {
            _ = try command("AUTH", password)
        }
    }

    /// SELECT a logical database.
    public func select(database: Int) throws(RedisError) {
        _ = try command("SELECT", String(database))
    }

    // MARK: - Internals

    /// Records the context's error as this connection's permanent failure and returns it.
    private func contextFailure() -> RedisError {
        let error = Self.contextError(context, savedErrno: errno, endpoint: endpoint)
        failure = error
        return error
    }

    private static func contextError(
        _ context: UnsafeMutablePointer<redisContext>, savedErrno: Int32, endpoint: RedisEndpoint
    ) -> RedisError {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let detail = "\(endpoint): \(text)"
        switch context.pointee.err {
        case REDIS_ERR_EOF:
            return RedisError(kind: .eof, detail: detail)
        case REDIS_ERR_PROTOCOL:
            return RedisError(kind: .protocol, detail: detail)
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || savedErrno == ETIMEDOUT:
            return RedisError(kind: .timeout, detail: detail)
        case REDIS_ERR_IO where text.contains("timed out") || text.contains("temporarily unavailable"):
            return RedisError(kind: .timeout, detail: detail)
        default:
            return RedisError(kind: .connection, detail: detail)
        }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = value.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: Int(value.len)))
        }
        switch value.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                if let element = value.element[index] { elements.append(copy(element)) }
            }
            return .array(elements)
        default: return .null
        }
    }

    private static func timeval(seconds: Double) -> Glibc.timeval {
        let clamped = max(seconds, 0.001)
        let whole = clamped.rounded(.down)
        return Glibc.timeval(tv_sec: Int(whole), tv_usec: Int((clamped - whole) * 1_000_000))
    }
}
