/// Text for a terminal: bytes that are not valid UTF-8, and control characters, are shown as `\xNN`,
/// and a backslash as `\\`, so a name with odd bytes is visible and unambiguous in a table.
public enum VisibleText {
    /// `bytes` decoded strictly as UTF-8, with every invalid byte and control character escaped.
    public static func escaping(_ bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                append(Unicode.Scalar(byte), to: &out)
                index += 1
            } else if let (scalar, length) = EventMessage.decodeScalar(bytes, at: index),
                let value = Unicode.Scalar(scalar)
            {
                append(value, to: &out)
                index += length
            } else {
                out += hex(byte)
                index += 1
            }
        }
        return out
    }

    /// `text` with control characters and backslashes escaped.
    public static func escaping(_ text: String) -> String {
        escaping(Array(text.utf8))
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        if scalar == "\\" {
            out += "\\\\"
        } else if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
            out += hex(UInt8(truncatingIfNeeded: scalar.value))
        } else {
            out.unicodeScalars.append(scalar)
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}
