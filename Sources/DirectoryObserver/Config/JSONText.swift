/// A JSON value with object keys kept in the order they were given, so printed reports are stable; written
/// as pretty-printed text with strings escaped per RFC 8259.
enum JSONText {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONText])
    case object([(String, JSONText)])
    /// Text that is already JSON (e.g. a string escaped as `EventMessage` writes it), written unchanged.
    case raw(String)

    /// `value`, or `null` when nil.
    static func optional(_ value: String?) -> JSONText {
        value.map { .string($0) } ?? .null
    }

    /// `value` as a number (integral values without a fraction), or `null` when nil.
    static func seconds(_ value: Double?) -> JSONText {
        value.map { .number($0) } ?? .null
    }

    /// The value as JSON text, indented by two spaces per level, without a trailing newline.
    func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        let closing = String(repeating: "  ", count: indent)
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .number(let value):
            if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
            return value.isFinite ? "\(value)" : "null"
        case .string(let value): return Self.quoted(value)
        case .raw(let text): return text
        case .array(let items):
            if items.isEmpty { return "[]" }
            let body = items.map { pad + $0.rendered(indent: indent + 1) }.joined(separator: ",\n")
            return "[\n\(body)\n\(closing)]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            let body = members.map { pad + Self.quoted($0.0) + ": " + $0.1.rendered(indent: indent + 1) }
                .joined(separator: ",\n")
            return "{\n\(body)\n\(closing)}"
        }
    }

    /// The value as JSON on one line (no spaces between tokens): one JSON Lines record.
    func compact() -> String {
        switch self {
        case .array(let items): return "[" + items.map { $0.compact() }.joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { Self.quoted($0.0) + ":" + $0.1.compact() }.joined(separator: ",") + "}"
        default: return rendered()
        }
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
