import Foundation

/// Parses the JSON the operator tools print. Foundation refuses a lone low surrogate escape such as
/// `\udcff`, which is how a file name byte that is not UTF-8 is written (Python's surrogateescape); so
/// each lone `\udcXX` escape is turned into the literal text `\udcXX` first (`"b\udcff"` decodes as the
/// six characters `b\udcff`). Escaped backslashes and surrogate pairs are left alone.
enum SurrogateJSON {
    static func object(_ text: some StringProtocol) throws -> [String: Any] {
        guard
            let object = try JSONSerialization.jsonObject(with: Data(literalLoneSurrogates(String(text)).utf8))
                as? [String: Any]
        else { throw CocoaError(.propertyListReadCorrupt) }
        return object
    }

    static func literalLoneSurrogates(_ text: String) -> String {
        let chars = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        var previousWasHigh = false
        while index < chars.count {
            guard chars[index] == UInt8(ascii: "\\"), index + 1 < chars.count else {
                out.append(chars[index])
                index += 1
                continue
            }
            if chars[index + 1] == UInt8(ascii: "u"), index + 6 <= chars.count,
                let unit = UInt32(String(decoding: chars[index + 2..<index + 6], as: UTF8.self), radix: 16)
            {
                let isLow = (0xDC00...0xDFFF).contains(unit)
                if isLow && !previousWasHigh { out.append(UInt8(ascii: "\\")) }
                previousWasHigh = (0xD800...0xDBFF).contains(unit)
                out += chars[index..<index + 6]
                index += 6
                continue
            }
            previousWasHigh = false
            out += chars[index..<index + 2]
            index += 2
        }
        return String(decoding: out, as: UTF8.self)
    }
}
