/// A byte-level matcher for the pattern shapes almost every configuration uses, so the common case never
/// reaches the (slow) regex engine: `^.*$` / `.*`, `^.*SUFFIX$`, `^PREFIX`, `^PREFIX.*`, `^EXACT$`, where the
/// pieces are literal characters, escaped punctuation (`\.`) or ASCII classes (`[0-9]`, `[a-zA-Z_]`).
///
/// It agrees with `PythonRegex` on every name that contains no `\n` (callers use the regex for those): UTF-8
/// is self-synchronising, a class only ever matches one ASCII byte and `.*` matches any run of code points
/// without `\n` (invalid bytes decode to U+FFFD, which `.` matches too).
struct FastPattern: Sendable, Equatable {
    /// The set of bytes one position may hold.
    struct ByteSet: Sendable, Equatable {
        private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        init() {}

        init(byte: UInt8) {
            insert(byte)
        }

        mutating func insert(_ byte: UInt8) {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }

        func contains(_ byte: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: return words.0 & bit != 0
            case 1: return words.1 & bit != 0
            case 2: return words.2 & bit != 0
            default: return words.3 & bit != 0
            }
        }

        static func == (lhs: ByteSet, rhs: ByteSet) -> Bool {
            lhs.words == rhs.words
        }
    }

    enum Shape: Sendable, Equatable {
        /// Every name (`.*`, `^.*$`).
        case any
        /// The name starts with the pieces.
        case prefix
        /// The name ends with the pieces (`^.*…$`).
        case suffix
        /// The name is exactly the pieces (`^…$`).
        case exact
    }

    let shape: Shape
    /// One entry per byte of the literal part.
    let pieces: [ByteSet]

    /// The fast form of `pattern`, or nil when it has another shape (the regex handles it).
    init?(python pattern: String) {
        let scalars = Array(pattern.unicodeScalars)
        var index = 0
        if index < scalars.count, scalars[index] == "^" { index += 1 }
        let leadingAny = Self.isDotStar(scalars, at: index)
        if leadingAny { index += 2 }

        var pieces: [ByteSet] = []
        var endAnchor = false
        var trailingAny = false
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "$", index == scalars.count - 1 {
                endAnchor = true
                break
            }
            if Self.isDotStar(scalars, at: index) {
                let rest = scalars.count - index
                guard rest == 2 || (rest == 3 && scalars[index + 2] == "$") else { return nil }
                trailingAny = true
                break
            }
            switch scalar {
            case "\\":
                guard index + 1 < scalars.count, let byte = Self.escapedPunctuation(scalars[index + 1]) else {
                    return nil
                }
                pieces.append(ByteSet(byte: byte))
                index += 2
            case "[":
                guard let (set, next) = Self.asciiClass(scalars, from: index + 1) else { return nil }
                pieces.append(set)
                index = next
            case ".", "^", "$", "*", "+", "?", "(", ")", "{", "}", "|":
                return nil
            default:
                for byte in String(scalar).utf8 { pieces.append(ByteSet(byte: byte)) }
                index += 1
            }
        }

        switch (leadingAny, endAnchor, trailingAny) {
        case (true, _, _) where pieces.isEmpty && !trailingAny: self.shape = .any
        case (true, true, false): self.shape = .suffix
        case (true, _, _): return nil  // `.*abc` or `.*abc.*`: a search, left to the regex
        case (false, true, false): self.shape = .exact
        case (false, _, _): self.shape = .prefix
        }
        self.pieces = pieces
    }

    /// Whether `name` matches from its start. Only valid for names without a `\n` byte.
    func matches(_ name: [UInt8]) -> Bool {
        switch shape {
        case .any:
            return true
        case .prefix:
            guard name.count >= pieces.count else { return false }
            for offset in pieces.indices where !pieces[offset].contains(name[offset]) { return false }
            return true
        case .suffix:
            guard name.count >= pieces.count else { return false }
            let start = name.count - pieces.count
            for offset in pieces.indices where !pieces[offset].contains(name[start + offset]) { return false }
            return true
        case .exact:
            guard name.count == pieces.count else { return false }
            for offset in pieces.indices where !pieces[offset].contains(name[offset]) { return false }
            return true
        }
    }

    // MARK: - Parsing

    private static func isDotStar(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        index + 1 < scalars.count && scalars[index] == "." && scalars[index + 1] == "*"
    }

    /// `\.`, `\-`, `\\`…: escaped ASCII punctuation stands for itself; `\d`, `\n`, `\w`… are not literals.
    private static func escapedPunctuation(_ scalar: Unicode.Scalar) -> UInt8? {
        guard scalar.isASCII, scalar.value > 0x20, scalar.value < 0x7F else { return nil }
        let character = Character(scalar)
        guard !character.isLetter, !character.isNumber, character != "_" else { return nil }
        return UInt8(scalar.value)
    }

    /// A class of ASCII characters and ranges (`[0-9]`, `[._-]`) starting after its `[`; returns the set and
    /// the index after its `]`. Negated classes, non-ASCII members and escapes like `\d` are refused.
    private static func asciiClass(_ scalars: [Unicode.Scalar], from start: Int) -> (ByteSet, Int)? {
        var members: [UInt8] = []
        var index = start
        guard index < scalars.count, scalars[index] != "^", scalars[index] != "]" else { return nil }
        while index < scalars.count, scalars[index] != "]" {
            let scalar = scalars[index]
            var byte: UInt8
            if scalar == "\\" {
                guard index + 1 < scalars.count, let escaped = escapedPunctuation(scalars[index + 1]) else {
                    return nil
                }
                byte = escaped
                index += 2
            } else {
                guard scalar.isASCII, scalar != "[", scalar != "&", scalar != "~", scalar.value >= 0x20 else {
                    return nil
                }
                byte = UInt8(scalar.value)
                index += 1
            }
            members.append(byte)
            // A range `a-z`; a `-` first or last in the class is a plain member.
            if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                let upper = scalars[index + 1]
                guard upper.isASCII, upper != "\\", upper != "[", upper.value >= UInt32(byte) else { return nil }
                members.append(contentsOf: byte...UInt8(upper.value))
                index += 2
            }
        }
        guard index < scalars.count else { return nil }
        var set = ByteSet()
        for member in members { set.insert(member) }
        return (set, index + 1)
    }
}
