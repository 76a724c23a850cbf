/// What the delivery script said about one batch (see `DeliveryScript` for the reply's shape).
enum ScriptOutcome: Equatable {
    /// The batch went in: `pushed` messages.
    case applied(pushed: Int)
    /// Redis's watermark is below the one the outbox expects (nil: missing): Redis lost writes.
    case behind(found: Int64?)
    /// Redis's watermark is above the one the outbox expects, with the fingerprint stored beside it.
    case ahead(found: Int64, fingerprint: [UInt8]?)

    /// Reads a script reply; nil when it does not have the script's shape.
    init?(reply: RedisReply) {
        guard case .array(let parts) = reply, parts.count >= 3,
            case .integer(let status) = parts[0], case .integer(let found) = parts[1],
            case .integer(let pushed) = parts[2]
        else { return nil }
        switch status {
        case 0: self = .applied(pushed: Int(pushed))
        case 1: self = .behind(found: found < 0 ? nil : found)
        case 2:
            if parts.count > 3, case .bulk(let bytes) = parts[3] {
                self = .ahead(found: found, fingerprint: bytes)
            } else {
                self = .ahead(found: found, fingerprint: nil)
            }
        default: return nil
        }
    }
}
