/// One Redis reply, copied out of hiredis into an immutable Swift value.
public enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// The reply as an integer: an integer reply, or a bulk string holding one.
    public var integerValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk(let bytes): return Int64(String(decoding: bytes, as: UTF8.self))
        default: return nil
        }
    }

    /// The reply as text: a status, an error or a bulk string.
    public var stringValue: String? {
        switch self {
        case .status(let text), .error(let text): return text
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The reply, or the `RedisError` it carries when it is an error reply.
    public func get() throws(RedisError) -> RedisReply {
        if case .error(let text) = self { throw RedisError.reply(text) }
        return self
    }
}
