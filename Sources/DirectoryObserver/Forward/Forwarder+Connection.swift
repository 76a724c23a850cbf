import Logging

// MARK: - Connection life

extension Forwarder {
    /// How the forwarder last saw Redis. A change is logged once; the same state seen again is not.
    enum Health: Equatable {
        /// Not connected yet.
        case unknown
        /// The last batch went in, or a round found nothing to do on a live session.
        case up
        /// The connection or the server's state keeps events out; `reason` is `connection` or the reply's
        /// prefix (`OOM`, `MISCONF`…).
        case unavailable(reason: String)
        /// Redis refuses the configuration (`WRONGPASS`, `NOPERM`, a renamed command…).
        case misconfigured(reason: String)
    }

    /// How long to wait before the next try: exponential with jitter, reset only by a batch that goes in;
    /// `retry_max` while Redis refuses the configuration.
    func nextConnectDelay() -> Double {
        if case .misconfigured = health { return settings.retry.maximum }
        return connectBackoff.next()
    }

    /// The current session, or a new one: connected, authenticated, script loaded, and every queue the
    /// outbox knows reconciled with the watermark Redis holds for it.
    func connectedSession() throws -> RedisSession {
        if let session { return session }
        let session = try RedisSession(settings: settings.redis, timeout: settings.timeout)
        if settings.redis.sentinel != nil, let previous = lastEndpoint, previous != session.endpoint {
            logger.info(
                "Redis master switched", metadata: ["redis.from": "\(previous)", "redis.to": "\(session.endpoint)"])
        }
        lastEndpoint = session.endpoint
        try reconcileAll(over: session)
        self.session = session
        lastError = nil
        if !everConnected {
            logger.info("connected to Redis", metadata: ["redis.endpoint": "\(session.endpoint)"])
            everConnected = true
            if health == .unknown { health = .up }
        }
        return session
    }

    /// Reads every known queue's watermark and fingerprint in one round trip and settles each against the
    /// outbox (see `Reconciliation`). The writer is flushed first, so the outbox's record includes every
    /// delivery this forwarder handed it; until it is, nothing is settled (the round fails and is tried
    /// again): a record missing marks can equal a watermark Redis fell back to, look in step, and have
    /// the marks land later over events that were never resent.
    private func reconcileAll(over session: RedisSession) throws {
        cursors.removeAll()
        prefetched = nil
        // Bounded: a writer whose commits fail must not hold the forwarder (and the daemon's stop) for long.
        guard writer.flush(timeout: settings.timeout) else { throw ReconciliationError(path: writer.path) }
        let queues = try store.knownQueues()
        guard !queues.isEmpty else { return }
        var requests: [[[UInt8]]] = []
        for queue in queues {
            let keys = scriptKeys(queue)
            requests.append([Array("GET".utf8), Array(keys.watermark.utf8)])
            requests.append([Array("GET".utf8), Array(keys.fingerprint.utf8)])
        }
        let replies = try session.connection.pipeline(requests)
        var highestFound: Int64 = 0
        for (index, queue) in queues.enumerated() {
            let watermarkReply = replies[2 * index]
            if case .error(let text) = watermarkReply {
                let error = RedisError.reply(text)
                if error.failureClass != .batch { throw error }
                continue  // the queue's next batch meets the same error and counts it
            }
            let found: Int64?
            switch watermarkReply {
            case .null: found = nil
            case .bulk:
                guard let value = watermarkReply.integerValue else { continue }
                found = value
            default: continue
            }
            var fingerprint: [UInt8]?
            if case .bulk(let bytes) = replies[2 * index + 1] { fingerprint = bytes }
            highestFound = max(highestFound, found ?? 0)
            try settle(
                queue, expected: try store.deliveredThrough(queue: queue), found: found, fingerprint: fingerprint,
                over: session)
        }
        if highestFound > (try store.highestIDEverIssued()) {
            // No id the outbox hands out from now on may fall at or below a watermark Redis holds.
            try store.raiseIDCounter(to: highestFound)
        }
    }

    /// Settles one queue (see `Reconciliation`) and sets what its next batch expects; with
    /// `redis_lost_writes = ignore`, first moves Redis's watermark up to the outbox's record.
    func settle(
        _ queue: String, expected: Int64, found: Int64?, fingerprint: [UInt8]?, over session: RedisSession
    ) throws {
        let settlement = try reconciliation.settle(
            queue: queue, expected: expected, found: found, fingerprint: fingerprint)
        if let adopt = settlement.adopt {
            let keys = scriptKeys(queue)
            var command = [session.scriptSHA, Array("3".utf8), Array(queue.utf8)]
            command = [Array("EVALSHA".utf8)] + command
            command += [Array(keys.watermark.utf8), Array(keys.fingerprint.utf8)]
            command += [Array(String(adopt.found).utf8), Array(String(settlement.expected).utf8), adopt.fingerprint]
            let reply = try session.connection.command(command)
            guard case .applied = ScriptOutcome(reply: reply) else {
                // Redis's watermark moved meanwhile: the queue's next batch finds out and settles again.
                cursors[queue] = found ?? 0
                return
            }
        }
        cursors[queue] = settlement.expected
    }

    /// Redis is unavailable or refuses the configuration: a broken connection, or a server that is no longer
    /// (or not yet) the master (`READONLY`, `MASTERDOWN`, `LOADING`), drops the session, so the next try
    /// connects afresh (and, with Sentinel, asks the sentinels again); other server-state refusals keep it.
    /// Logs the state change once; a reconnect is not a change.
    func unavailable(_ error: RedisError) -> Forwarder.Round {
        let endpoint: String = lastEndpoint.map { "\($0)" } ?? settings.redis.target
        prefetched = nil
        lastError = error
        var dropSession = error.isConnectionLevel || error.failureClass == .configuration
        if case .reply(let prefix) = error.kind, ["READONLY", "MASTERDOWN", "LOADING"].contains(prefix) {
            dropSession = true
        }
        if dropSession {
            session = nil
            cursors.removeAll()
        }
        let reason: String
        if case .reply(let prefix) = error.kind { reason = prefix } else { reason = "connection" }
        let state: Health =
            error.failureClass == .configuration ? .misconfigured(reason: reason) : .unavailable(reason: reason)
        guard state != health else { return .unavailable }
        if downSince == nil { downSince = Clock.monotonic() }
        health = state
        switch state {
        case .misconfigured:
            logger.error(
                "Redis refuses the observer's configuration; events wait in the outbox",
                metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)", "fix": "\(error.fix)"])
        case .unavailable(reason: "connection"):
            logger.warning(
                "Redis unreachable; events wait in the outbox",
                metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
        default:
            logger.warning(
                "Redis refuses writes for now; events wait in the outbox",
                metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
        }
        return .unavailable
    }

    /// A batch went in, or a round found nothing to do on a live session: ends an outage (logged once).
    func recovered() {
        switch health {
        case .up: return
        case .unknown:
            health = .up
        case .unavailable, .misconfigured:
            health = .up
            let backlog = (try? store.pendingCount()) ?? -1
            let since = downSince ?? Clock.monotonic()
            logger.info(
                "Redis reachable again",
                metadata: [
                    "redis.endpoint": "\(session.map { "\($0.endpoint)" } ?? settings.redis.target)",
                    "redis.down_for_s": "\(((Clock.monotonic() - since) * 10).rounded() / 10)",
                    "outbox.pending": "\(backlog)",
                ])
        }
        downSince = nil
    }
}
