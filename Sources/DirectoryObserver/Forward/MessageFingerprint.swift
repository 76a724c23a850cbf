/// The fingerprint of one outbox event as the delivery script keeps it beside the watermark: its id, its
/// `event_timestamp` (Swift's shortest exact decimal form) and its file name's bytes, separated by newlines.
/// Two events have the same fingerprint only when they have the same id, timestamp and name, so a
/// watermark above the outbox's delivery record is the outbox's own last push (the crash window) exactly
/// when the outbox's row of that id gives the same fingerprint.
enum MessageFingerprint {
    /// The fingerprint bytes of an event.
    static func bytes(id: Int64, timestamp: Double, name: some Collection<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        append(id: id, timestamp: timestamp, name: name, to: &bytes)
        return bytes
    }

    /// Replaces `bytes` with the fingerprint of an event, reusing its memory.
    static func append(id: Int64, timestamp: Double, name: some Collection<UInt8>, to bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: "\(id)\n\(timestamp)\n".utf8)
        bytes.append(contentsOf: name)
    }
}
