/// The Lua script that applies one batch atomically in Redis (SPEC §5).
///
/// KEYS: the queue, the watermark `<prefix>:watermark:<outbox uuid>:<queue>`, and the counter when one is
/// set. ARGV: the batch's (id, message) pairs in ascending id order (the script relies on that order to
/// find the first id above the watermark without looking at every id). It pushes, with one `LPUSH`, only the messages
/// whose id is above the watermark, `INCRBY`s the counter by that number, moves the watermark to the
/// batch's last id and returns how many it pushed. Every check that can fail (the watermark's and the
/// counter's types and values) runs before the first write, and a failing `LPUSH` raises before the counter
/// or the watermark move: a batch is applied whole or not at all, and a batch sent twice pushes nothing the
/// second time.
enum DeliveryScript {
    static let source = """
        local watermark = tonumber(redis.call('GET', KEYS[2]) or '0')
        if watermark == nil then
          return redis.error_reply('ERR watermark ' .. KEYS[2] .. ' does not hold an integer')
        end
        if KEYS[3] then
          -- INCRBY must not fail after the LPUSH: accept only what it accepts, with room to add a batch
          local current = redis.call('GET', KEYS[3])
          if current and (not string.match(current, '^%-?%d+$') or #current > 18) then
            return redis.error_reply('ERR counter ' .. KEYS[3] .. ' does not hold an integer INCRBY can add to')
          end
        end
        local count = #ARGV
        if count < 2 then
          return 0
        end
        local last = tonumber(ARGV[count - 1])
        if last <= watermark then
          return 0
        end
        -- ids ascend within a batch: skip the ones at or below the watermark, push all the rest
        local first = 1
        while tonumber(ARGV[first]) <= watermark do
          first = first + 2
        end
        local messages = {}
        local n = 0
        for i = first + 1, count, 2 do
          n = n + 1
          messages[n] = ARGV[i]
        end
        redis.call('LPUSH', KEYS[1], unpack(messages))
        if KEYS[3] then
          redis.call('INCRBY', KEYS[3], n)
        end
        redis.call('SET', KEYS[2], last)
        return n
        """

    /// The most messages one batch may carry: Lua's `unpack` refuses more than about 8,000 values.
    static let maximumBatch = 4_000

    /// The watermark key of a queue.
    static func watermarkKey(prefix: String, outboxUUID: String, queue: String) -> String {
        "\(prefix):watermark:\(outboxUUID):\(queue)"
    }
}
