/// The Lua script that applies one batch atomically in Redis (SPEC §5).
///
/// KEYS: the queue, the watermark `<prefix>:watermark:<outbox uuid>:<queue>`, and the counter when one is
/// set. ARGV: the batch's (id, message) pairs in id order. It pushes, with one `LPUSH`, only the messages
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
          local current = redis.call('GET', KEYS[3])
          if current and tonumber(current) == nil then
            return redis.error_reply('ERR counter ' .. KEYS[3] .. ' does not hold an integer')
          end
        end
        local messages = {}
        local last = 0
        for i = 1, #ARGV, 2 do
          local id = tonumber(ARGV[i])
          if id > watermark then
            messages[#messages + 1] = ARGV[i + 1]
          end
          last = id
        end
        if #messages > 0 then
          redis.call('LPUSH', KEYS[1], unpack(messages))
          if KEYS[3] then
            redis.call('INCRBY', KEYS[3], #messages)
          end
        end
        if last > watermark then
          redis.call('SET', KEYS[2], last)
        end
        return #messages
        """

    /// The most messages one batch may carry: Lua's `unpack` refuses more than about 8,000 values.
    static let maximumBatch = 4_000

    /// The watermark key of a queue.
    static func watermarkKey(prefix: String, outboxUUID: String, queue: String) -> String {
        "\(prefix):watermark:\(outboxUUID):\(queue)"
    }
}
