/// Writes event messages (`EventMessage`) as RESP bulk strings straight into a forwarder's buffer, each
/// byte once. The parts of a message that depend only on its directory or its kind are encoded once and
/// kept while they stay the same from one event to the next (a batch is usually one directory, one
/// kind). Not Sendable: it belongs to one batch read at a time.
struct MessageBulkEncoder {
    private var directory: [UInt8] = []
    /// `EventMessage.appendHead` of `directory`.
    private var head: [UInt8] = []
    private var kind: EventKind?
    /// `EventMessage.appendTail` of `kind`.
    private var tail: [UInt8] = []
    /// Scratch: the quoted file name, then the timestamp, of the message being written.
    private var name: [UInt8] = []
    private var timestamp: [UInt8] = []

    /// Appends `$<length>\r\n<message>\r\n` to `out`.
    mutating func appendBulk(
        directory: UnsafeBufferPointer<UInt8>, filename: UnsafeBufferPointer<UInt8>, kind: EventKind,
        timestamp: Double, to out: inout [UInt8]
    ) {
        if !bytesEqual(self.directory, directory) {
            self.directory = Array(directory)
            head.removeAll(keepingCapacity: true)
            EventMessage.appendHead(directory: directory, to: &head)
        }
        if self.kind != kind {
            self.kind = kind
            tail.removeAll(keepingCapacity: true)
            EventMessage.appendTail(event: kind.rawValue, to: &tail)
        }
        name.removeAll(keepingCapacity: true)
        EventMessage.appendString(filename, to: &name)
        self.timestamp.removeAll(keepingCapacity: true)
        EventMessage.appendTimestamp(timestamp, to: &self.timestamp)
        out.append(UInt8(ascii: "$"))
        RESPCommands.appendDecimal(Int64(head.count + name.count + tail.count + self.timestamp.count), to: &out)
        out.append(contentsOf: Self.lineEnd)
        out.append(contentsOf: head)
        out.append(contentsOf: name)
        out.append(contentsOf: tail)
        out.append(contentsOf: self.timestamp)
        out.append(contentsOf: Self.lineEnd)
    }

    private static let lineEnd: [UInt8] = [0x0D, 0x0A]
}
