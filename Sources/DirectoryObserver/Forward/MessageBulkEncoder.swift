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
    /// How many digits the previous message's length had: the next one is written with as many
    /// placeholder digits, which are right almost always (messages of one batch are alike).
    private var lengthDigits = 3

    /// Appends `$<length>\r\n<message>\r\n` to `out`. The message is written in place after placeholder
    /// digits for its length, which are then set (and, when their number was wrong, the message moved).
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
        out.append(UInt8(ascii: "$"))
        let digitsStart = out.count
        for _ in 0..<lengthDigits { out.append(UInt8(ascii: "0")) }
        out.append(contentsOf: Self.lineEnd)
        let messageStart = out.count
        out.append(contentsOf: head)
        EventMessage.appendString(filename, to: &out)
        out.append(contentsOf: tail)
        EventMessage.appendTimestamp(timestamp, to: &out)
        let length = out.count - messageStart
        out.append(contentsOf: Self.lineEnd)
        setLength(length, digitsAt: digitsStart, in: &out)
    }

    /// Writes `length` over the `lengthDigits` placeholder digits at `start`, moving what follows when
    /// it needs more or fewer digits.
    private mutating func setLength(_ length: Int, digitsAt start: Int, in out: inout [UInt8]) {
        var digits = 1
        var rest = length / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        if digits != lengthDigits {
            out.replaceSubrange(
                start..<start + lengthDigits, with: repeatElement(UInt8(ascii: "0"), count: digits))
            lengthDigits = digits
        }
        out.withUnsafeMutableBufferPointer { bytes in
            var value = length
            for index in stride(from: start + digits - 1, through: start, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
    }

    private static let lineEnd: [UInt8] = [0x0D, 0x0A]
}
