import DirectoryObserverTestSupport
import Testing

@testable import DirectoryObserver

@Suite("NameFilter matches names like Python's re.match")
struct ConfigNameFilterTests {
    private func filter(only: [String] = [], ignore: [String] = []) throws(ConfigError) -> NameFilter {
        try NameFilter(only: only, ignore: ignore, section: "m", file: "/etc/observer.ini")
    }

    private func accepts(_ filter: NameFilter, _ name: String) -> Bool {
        filter.accepts(Array(name.utf8))
    }

    @Test("patterns are anchored at the start only: only=abc accepts abcdef but not xabc")
    func anchoredAtStart() throws {
        let filter = try filter(only: ["abc"])
        #expect(accepts(filter, "abcdef"))
        #expect(accepts(filter, "abc"))
        #expect(!accepts(filter, "xabc"))
        #expect(!accepts(filter, "ab"))
    }

    @Test("^.*\\.tmp$ ignores x.tmp but not x.tmpl")
    func suffix() throws {
        let filter = try filter(ignore: [#"^.*\.tmp$"#])
        #expect(!accepts(filter, "x.tmp"))
        #expect(!accepts(filter, ".tmp"))
        #expect(accepts(filter, "x.tmpl"))
        #expect(accepts(filter, "xtmp"))
    }

    @Test("names ending in .working are always ignored, and the pattern is listed once")
    func working() throws {
        let plain = try filter()
        #expect(!accepts(plain, "data.working"))
        #expect(accepts(plain, "data.work"))
        let explicit = try filter(ignore: [#"^.*\.working$"#, "^a"])
        #expect(explicit.ignore == ["^a", #"^.*\.working$"#])
        #expect(!accepts(explicit, "b.working"))
    }

    @Test("a name is accepted when it matches one only pattern and no ignore pattern")
    func onlyAndIgnore() throws {
        let filter = try filter(only: [#"^.*\.csv$"#, "^report_"], ignore: ["^report_draft"])
        #expect(accepts(filter, "a.csv"))
        #expect(accepts(filter, "report_2026.pdf"))
        #expect(!accepts(filter, "report_draft.csv"))
        #expect(!accepts(filter, "a.txt"))
    }

    @Test("the original's ignore list skips .t, .tmp, two-digit and ten-digit extensions")
    func originalIgnoreList() throws {
        let filter = try filter(
            only: ["^.*$"],
            ignore: [
                #"^.*\.t$"#, #"^.*\.tmp$"#, #"^.*\.[0-9][0-9]$"#,
                #"^.*\.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$"#,
            ])
        for ignored in ["a.t", "a.tmp", "a.12", "a.1234567890", "b.working"] {
            #expect(!accepts(filter, ignored), "\(ignored)")
        }
        for kept in ["a.txt", "a.1", "a.123", "a.123456789", "a.1x", "plain"] {
            #expect(accepts(filter, kept), "\(kept)")
        }
    }

    @Test("names that are not valid UTF-8 are matched with the bad bytes replaced, never dropped")
    func invalidUTF8() throws {
        let filter = try filter(only: ["^data"], ignore: [#"^.*\.tmp$"#])
        #expect(filter.accepts(Array("data".utf8) + [0xFF, 0xFE]))
        #expect(!filter.accepts([0xFF] + Array("data".utf8)))
        #expect(!filter.accepts(Array("data".utf8) + [0xC3] + Array(".tmp".utf8)))
        let everything = try self.filter()
        #expect(everything.accepts([0xFF, 0x80, 0x41]))
        let regexOnly = try self.filter(only: ["^d(?:a|b)ta"])
        #expect(regexOnly.accepts(Array("data".utf8) + [0xFF]))
    }

    @Test("Python's named groups (?P<name>…) and back-references (?P=name) work")
    func pythonNamedGroups() throws {
        let filter = try filter(only: [#"^(?P<stem>[a-z]+)_(?P=stem)\.dat$"#])
        #expect(accepts(filter, "abc_abc.dat"))
        #expect(!accepts(filter, "abc_abd.dat"))
    }

    @Test("Python's $ matches before a final newline and . does not match a newline")
    func newlines() throws {
        let ignoreTmp = try filter(only: ["^[ax]"], ignore: [#"^.*\.tmp$"#])
        #expect(!accepts(ignoreTmp, "x.tmp\n"))
        #expect(accepts(ignoreTmp, "a\nb.tmp"))
        #expect(!accepts(ignoreTmp, "ab.tmp"))
        let everything = try filter()
        #expect(!accepts(everything, "a\nb"))
        #expect(accepts(everything, "a\rb"))
    }

    @Test("an empty only list accepts every name")
    func emptyOnly() throws {
        let filter = try filter(only: [])
        #expect(filter.only == ["^.*$"])
        #expect(accepts(filter, "anything"))
    }

    @Test("an invalid pattern is a ConfigError naming the file, section, key, pattern and reason")
    func invalidPattern() throws {
        do throws(ConfigError) {
            _ = try filter(only: ["^ok"], ignore: ["(unclosed"])
            Issue.record("compiled an invalid pattern")
        } catch {
            #expect(error.file == "/etc/observer.ini")
            #expect(error.section == "m")
            #expect(error.key == "ignore")
            #expect(error.value == "(unclosed")
            #expect(error.reason.hasPrefix("invalid regular expression: "))
            #expect(error.reason.count > "invalid regular expression: ".count)
        }
    }
}

@Suite("The byte-level fast path agrees with the regex engine")
struct ConfigFastPatternTests {
    @Test(
        "common shapes take the fast path; other shapes do not",
        arguments: [
            ("^.*$", FastPattern.Shape.any), (".*", .any), ("", .prefix), (#"^.*\.tmp$"#, .suffix),
            ("^.*SUFFIX$", .suffix), ("^abc", .prefix), ("abc.*", .prefix), ("^abc.*$", .prefix), ("^abc$", .exact),
            (#"^.*\.[0-9][0-9]$"#, .suffix), ("^[a-zA-Z_-]x", .prefix), ("^é.*", .prefix),
        ])
    func fastShapes(pattern: String, shape: FastPattern.Shape) throws {
        let fast = try #require(FastPattern(python: pattern))
        #expect(fast.shape == shape)
    }

    @Test(
        "other shapes go to the regex engine",
        arguments: [
            "^.*abc", "^a+", "^(a|b)", #"^\d"#, "^[^a]", "a?", "^.*a.*$", "^a{2}", #"^\w"#, "^a|b", "^[[:alpha:]]",
        ])
    func slowShapes(pattern: String) {
        #expect(FastPattern(python: pattern) == nil)
    }

    @Test("fast path and regex give the same answer on thousands of names")
    func agreement() throws {
        let patterns = [
            "^.*$", ".*", "", #"^.*\.tmp$"#, #"^.*\.t$"#, #"^.*\.[0-9][0-9]$"#, "^ab", "ab.*", "^ab$", "^a.*$",
            #"^.*\.working$"#, "^.*é$", "^é", #"^[a-c][0-9]\.[t-x]"#, #"^.*\-\.$"#, "^.*[.]t$", "^[.-]",
        ]
        let alphabet: [[UInt8]] = [
            [0x61], [0x62], [0x63], [0x74], [0x6D], [0x70], [0x2E], [0x2D], [0x30], [0x35], [0x39], [0x0D],
            Array("é".utf8), Array("\u{301}".utf8), [0xFF], [0xC3], [0x80], Array(".tmp".utf8), Array(".t".utf8),
            Array(".working".utf8), Array("ab".utf8), Array("€".utf8),
        ]
        let filter = try NameFilter(only: patterns, ignore: [], section: "m", file: "f")
        let fast = patterns.map { FastPattern(python: $0) }
        #expect(fast.allSatisfy { $0 != nil })
        var generator = SeededRandom(seed: 0x5EED)
        var checked = 0
        var matched = 0
        for _ in 0..<4_000 {
            var name: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                name += alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
            }
            for (index, pattern) in fast.enumerated() {
                let byBytes = pattern!.matches(name)
                let byRegex = filter.regexMatches(index, name)
                #expect(byBytes == byRegex, "pattern \(patterns[index]) name \(name)")
                checked += 1
                if byBytes { matched += 1 }
            }
        }
        // Both answers occur often, so agreement is not trivial.
        #expect(matched > checked / 10)
        #expect(matched < checked * 9 / 10)
    }
}
