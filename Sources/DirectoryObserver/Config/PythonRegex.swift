/// Compiles a pattern written for Python's `re` into a Swift `Regex` that matches the same names when used
/// with `prefixMatch` (Python's `re.match`).
///
/// Swift's regex syntax is close to Python's; the differences that matter for file names are rewritten:
/// - `.` matches any code point but `\n` in Python (Swift also refuses `\r`, U+0085, U+2028…): `[^\n]`;
/// - `$` matches at the end or before a final `\n` in Python: `(?=\n?\z)`;
/// - `\Z` is the very end in Python (`\z` in Swift);
/// - inside a class `[`, `&` and `~` are literal in Python but start nested classes or set operators in Swift;
/// - `(?P<name>…)` and `(?P=name)` are understood by Swift as they are.
/// Matching runs on Unicode scalars (code points), as Python's does, not on grapheme clusters.
/// When the pattern sets inline flags (`(?s)`, `(?m)`, …) `.` and `$` are left as written.
enum PythonRegex {
    /// Why Swift refused a pattern, in one line.
    struct Invalid: Error, Equatable {
        var reason: String
    }

    /// The compiled regex, or the reason Swift refuses it.
    static func compile(_ pattern: String) throws(Invalid) -> Regex<AnyRegexOutput> {
        do {
            return try Regex(translate(pattern)).matchingSemantics(.unicodeScalar)
        } catch {
            let reason = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            throw Invalid(reason: reason)
        }
    }

    /// The pattern rewritten in Swift's syntax (see the type's summary).
    static func translate(_ pattern: String) -> String {
        let scalars = Array(pattern.unicodeScalars)
        let rewriteDotAndDollar = !hasInlineFlags(scalars)
        var output = ""
        var index = 0
        var inClass = false
        var classStart = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\\", index + 1 < scalars.count {
                let next = scalars[index + 1]
                output += next == "Z" && !inClass ? "\\z" : "\\" + String(next)
                index += 2
                continue
            }
            if inClass {
                switch scalar {
                case "]" where index == classStart:
                    output += "\\]"
                case "]":
                    output += "]"
                    inClass = false
                case "[", "&", "~":
                    output += "\\" + String(scalar)
                default:
                    output.unicodeScalars.append(scalar)
                }
                index += 1
                continue
            }
            switch scalar {
            case "[":
                output += "["
                inClass = true
                classStart = index + 1
                if classStart < scalars.count, scalars[classStart] == "^" {
                    output += "^"
                    classStart += 1
                    index += 1
                }
            case "." where rewriteDotAndDollar:
                output += "[^\\n]"
            case "$" where rewriteDotAndDollar:
                output += "(?=\\n?\\z)"
            default:
                output.unicodeScalars.append(scalar)
            }
            index += 1
        }
        return output
    }

    /// Whether the pattern has an inline flag group such as `(?s)`, `(?im)` or `(?s:…)`.
    private static func hasInlineFlags(_ scalars: [Unicode.Scalar]) -> Bool {
        let flags: Set<Unicode.Scalar> = ["a", "i", "L", "m", "s", "u", "x", "-"]
        var index = 0
        while index + 2 < scalars.count {
            if scalars[index] == "\\" {
                index += 2
                continue
            }
            if scalars[index] == "(", scalars[index + 1] == "?", flags.contains(scalars[index + 2]) {
                return true
            }
            index += 1
        }
        return false
    }
}
