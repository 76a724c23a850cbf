/// The Lua script that applies one batch atomically in Redis (SPEC §5 and §8).
///
/// KEYS: the queue, the watermark `<prefix>:watermark:<outbox uuid>:<queue>`, the fingerprint
/// `<prefix>:fingerprint:<outbox uuid>:<queue>`, and the counter when one is set. ARGV: the watermark the
/// outbox expects (the last id it recorded as delivered for the queue, 0 for none), the batch's last id
/// (skipped events included), that event's `MessageFingerprint`, then the messages to push in ascending id
/// order (the ids are not sent: the watermark and the fingerprint name the batch).
///
/// It pushes only when the watermark in Redis is exactly the one the outbox expects (a missing watermark
/// counts as 0): then it pushes every message with one `LPUSH`, `INCRBY`s the counter by their number,
/// sets the watermark to the batch's last id and the fingerprint beside it. Otherwise it writes nothing
/// and says why, so a batch is never recorded as delivered when Redis did not take all of it. Every check
/// that can fail runs before the first write, and a failing `LPUSH` raises before the counter, the
/// watermark or the fingerprint move: a batch is applied whole or not at all, and a batch sent twice (a
/// stale command arriving late) pushes nothing the second time.
///
/// Reply: `{status, found, pushed, fingerprint}`. Status 0: applied, `pushed` messages. Status 1: Redis is
/// behind the outbox (lost writes): `found` is its watermark, -1 when missing. Status 2: Redis is ahead of
/// the outbox: `found` is its watermark and `fingerprint` the one stored beside it (nil when none).
enum DeliveryScript {
    static let source = """
        local raw = redis.call('GET', KEYS[2])
        local found = 0
        if raw then
          found = tonumber(raw)
          if found == nil then
            return redis.error_reply('ERR watermark ' .. KEYS[2] .. ' does not hold an integer')
          end
        end
        local expected = tonumber(ARGV[1])
        if found < expected then
          if raw then return {1, found, 0, false} end
          return {1, -1, 0, false}
        end
        if found > expected then
          return {2, found, 0, redis.call('GET', KEYS[3]) or false}
        end
        if KEYS[4] then
          -- INCRBY must not fail after the LPUSH: accept only what it accepts, with room to add a batch
          local current = redis.call('GET', KEYS[4])
          if current and (not string.match(current, '^%-?%d+$') or #current > 18) then
            return redis.error_reply('ERR counter ' .. KEYS[4] .. ' does not hold an integer INCRBY can add to')
          end
        end
        local n = #ARGV - 3
        if n > 0 then
          redis.call('LPUSH', KEYS[1], unpack(ARGV, 4))
          if KEYS[4] then
            redis.call('INCRBY', KEYS[4], n)
          end
        end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('SET', KEYS[3], ARGV[3])
        return {0, found, n, false}
        """

    /// The most messages one batch may carry: Lua's `unpack` refuses about 8,000 values or more.
    static let maximumBatch = 4_000

    /// The watermark key of a queue.
    static func watermarkKey(prefix: String, outboxUUID: String, queue: String) -> String {
        "\(prefix):watermark:\(outboxUUID):\(queue)"
    }

    /// The key beside the watermark that holds the fingerprint of the queue's last pushed event.
    static func fingerprintKey(prefix: String, outboxUUID: String, queue: String) -> String {
        "\(prefix):fingerprint:\(outboxUUID):\(queue)"
    }
}
