/// Redis commands in the wire format (RESP: an array of bulk strings per command), written into one
/// growing buffer. A whole round of commands goes out in one write, without an allocation per argument
/// and without hiredis formatting each one again. Arguments may hold any byte, NUL included.
public struct RESPCommands: Sendable {
    /// The encoded commands, ready to write to the socket.
    public private(set) var bytes: [UInt8] = []
    /// How many commands `bytes` holds (one reply comes back for each).
    public private(set) var count = 0

    public init() {}

    /// Empties the buffer, keeping its memory for the next round.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Appends a whole command.
    public mutating func append(_ arguments: [[UInt8]]) {
        begin(argumentCount: arguments.count)
        for argument in arguments { argument.withUnsafeBufferPointer { self.argument($0) } }
    }

    /// Appends a whole command given as text arguments.
    public mutating func append(_ arguments: String...) {
        append(arguments.map { Array($0.utf8) })
    }

    /// Starts a command of `argumentCount` arguments; exactly that many must follow.
    public mutating func begin(argumentCount: Int) {
        count += 1
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(Int64(argumentCount))
        appendLineEnd()
    }

    /// Appends one argument.
    public mutating func argument(_ value: UnsafeBufferPointer<UInt8>) {
        Self.appendBulk(value, to: &bytes)
    }

    /// Appends one argument given as text.
    public mutating func argument(_ text: String) {
        var text = text
        text.withUTF8 { argument($0) }
    }

    /// Appends arguments already encoded as bulk strings (see `MessageBulkEncoder`).
    mutating func encodedArguments(_ encoded: ArraySlice<UInt8>) {
        bytes.append(contentsOf: encoded)
    }

    /// Appends `value` as one RESP bulk string (`$length CRLF value CRLF`) to `out`.
    static func appendBulk(_ value: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        appendDecimal(Int64(value.count), to: &out)
        appendLineEnd(to: &out)
        out.append(contentsOf: value)
        appendLineEnd(to: &out)
    }

    private static func appendLineEnd(to out: inout [UInt8]) {
        out.append(0x0D)
        out.append(0x0A)
    }

    /// Appends `value` in decimal ASCII digits to `out`.
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var reversed: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var length = 0
        withUnsafeMutableBytes(of: &reversed) { digits in
            repeat {
                digits[length] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                length += 1
            } while magnitude > 0
            for index in stride(from: length - 1, through: 0, by: -1) { out.append(digits[index]) }
        }
    }

    private mutating func appendDecimal(_ value: Int64) {
        Self.appendDecimal(value, to: &bytes)
    }

    private mutating func appendLineEnd() {
        Self.appendLineEnd(to: &bytes)
    }
}
