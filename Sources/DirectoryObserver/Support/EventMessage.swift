/// The JSON message announced for one event, byte for byte what the original Python tool sends
/// (`json.dumps` with its default `", "` and `": "` separators and ASCII-only output):
/// `{"directory": DIR, "filename": NAME, "event": KIND, "event_timestamp": FLOAT}`.
/// A name that is not valid UTF-8 has each invalid byte `0xAB` written as `\udcab`, what Python's
/// surrogateescape decoding produces, so a Python consumer gets the exact bytes back.
public enum EventMessage {
    /// Encodes one message.
    public static func encode(directory: String, filename: [UInt8], event: String, timestamp: Double) -> [UInt8] {
        var directory = directory
        return directory.withUTF8 { directoryBytes in
            filename.withUnsafeBufferPointer { nameBytes in
                encode(directory: directoryBytes, filename: nameBytes, event: event, timestamp: timestamp)
            }
        }
    }

    /// Encodes one message from raw bytes.
    public static func encode(
        directory: UnsafeBufferPointer<UInt8>, filename: UnsafeBufferPointer<UInt8>, event: String, timestamp: Double
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(80 + directory.count + filename.count * 2)
        append(directory: directory, filename: filename, event: event, timestamp: timestamp, to: &out)
        return out
    }

    /// Appends one message to `out`.
    public static func append(
        directory: UnsafeBufferPointer<UInt8>, filename: UnsafeBufferPointer<UInt8>, event: String, timestamp: Double,
        to out: inout [UInt8]
    ) {
        appendHead(directory: directory, to: &out)
        appendString(filename, to: &out)
        appendTail(event: event, to: &out)
        appendTimestamp(timestamp, to: &out)
    }

    /// The part of a message before the file name: `{"directory": DIR, "filename": `.
    static func appendHead(directory: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"directory": "#.utf8)
        appendString(directory, to: &out)
        out.append(contentsOf: #", "filename": "#.utf8)
    }

    /// The part between the file name and the timestamp: `, "event": KIND, "event_timestamp": `.
    static func appendTail(event: String, to out: inout [UInt8]) {
        out.append(contentsOf: #", "event": ""#.utf8)
        out.append(contentsOf: event.utf8)
        out.append(contentsOf: #"", "event_timestamp": "#.utf8)
    }

    /// The end of a message: the timestamp and the closing brace.
    static func appendTimestamp(_ timestamp: Double, to out: inout [UInt8]) {
        // The text of `pythonFloat`, written straight into `out` (a Double's description is 17 or more
        // bytes for a timestamp: a String of that size is a heap allocation per message).
        var sink = ByteSink()
        swap(&sink.bytes, &out)
        timestamp.write(to: &sink)
        swap(&sink.bytes, &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends the text written to it to `bytes`. The standard library writes a number's text through
    /// `_writeASCII`, as bytes, so no String is made; any other text goes through `write`.
    private struct ByteSink: TextOutputStream {
        var bytes: [UInt8] = []

        mutating func write(_ string: String) {
            bytes.append(contentsOf: string.utf8)
        }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
            bytes.append(contentsOf: buffer)
        }
    }

    /// A Double as Python's `repr` writes it (the shortest text that round-trips; `1.0`, not `1`).
    static func pythonFloat(_ value: Double) -> String {
        value.description
    }

    /// `bytes` as the quoted, ASCII-only JSON string the message would carry (see `appendString`).
    public static func jsonString(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        appendString(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `bytes` as a quoted JSON string with Python's escaping, decoding UTF-8 strictly.
    static func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { appendString($0, to: &out) }
    }

    /// Appends `bytes` as a quoted JSON string with Python's escaping, decoding UTF-8 strictly.
    static func appendString(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var index = 0
        while index < bytes.count {
            // The usual case first: a run of printable ASCII that needs no escape, copied in one go.
            let runStart = index
            while index < bytes.count, bytes[index] >= 0x20, bytes[index] < 0x7F, bytes[index] != 0x22,
                bytes[index] != 0x5C
            {
                index += 1
            }
            if index > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte < 0x80 {
                appendASCII(byte, to: &out)
                index += 1
            } else if let (scalar, length) = decodeScalar(bytes, at: index) {
                appendEscaped(scalar, to: &out)
                index += length
            } else {
                appendUnicodeEscape(0xDC00 + UInt32(byte), to: &out)
                index += 1
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendASCII(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0x00..<0x20, 0x7F: appendUnicodeEscape(UInt32(byte), to: &out)
        default: out.append(byte)
        }
    }

    /// Non-ASCII scalars as `\uXXXX`, with a surrogate pair above the Basic Multilingual Plane.
    private static func appendEscaped(_ scalar: UInt32, to out: inout [UInt8]) {
        if scalar >= 0x10000 {
            let value = scalar - 0x10000
            appendUnicodeEscape(0xD800 + (value >> 10), to: &out)
            appendUnicodeEscape(0xDC00 + (value & 0x3FF), to: &out)
        } else {
            appendUnicodeEscape(scalar, to: &out)
        }
    }

    private static func appendUnicodeEscape(_ unit: UInt32, to out: inout [UInt8]) {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(digits[Int((unit >> UInt32(shift)) & 0xF)])
        }
    }

    /// Decodes one well-formed UTF-8 sequence starting at `index` (no overlong forms, no surrogates,
    /// nothing above U+10FFFF), or returns nil when the byte at `index` does not start one.
    static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (UInt32, Int)? {
        bytes.withUnsafeBufferPointer { decodeScalar($0, at: index) }
    }

    /// Decodes one well-formed UTF-8 sequence starting at `index` (see above).
    static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int)? {
        let lead = bytes[index]
        let length: Int
        var scalar: UInt32
        var minimum: UInt32
        switch lead {
        case 0xC2...0xDF: (length, scalar, minimum) = (2, UInt32(lead & 0x1F), 0x80)
        case 0xE0...0xEF: (length, scalar, minimum) = (3, UInt32(lead & 0x0F), 0x800)
        case 0xF0...0xF4: (length, scalar, minimum) = (4, UInt32(lead & 0x07), 0x10000)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let next = bytes[index + offset]
            guard next & 0xC0 == 0x80 else { return nil }
            scalar = (scalar << 6) | UInt32(next & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return nil }
        return (scalar, length)
    }
}
