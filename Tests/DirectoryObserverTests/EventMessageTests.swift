import Testing

@testable import DirectoryObserver

/// Expected messages were produced once with Python 3.11 (the original tool's encoder):
/// `json.dumps({"directory": d, "filename": os.fsdecode(name), "event": e, "event_timestamp": t})`
/// with the file system encoding utf-8/surrogateescape.
@Suite("Event message encoding")
struct EventMessageTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var directory: String
        var filename: [UInt8]
        var event: String
        var timestamp: Double
        var python: String
        var testDescription: String { python }
    }

    static let cases: [Case] = [
        Case(
            directory: "/d", filename: Array("a".utf8), event: "created", timestamp: 1_795_548_219.5800452,
            python: #"{"directory": "/d", "filename": "a", "event": "created", "event_timestamp": 1795548219.5800452}"#),
        Case(
            directory: "/d", filename: Array("q\"b\\s\nn\tt\u{01}c\u{7F}d".utf8), event: "created", timestamp: 1.0,
            python:
                #"{"directory": "/d", "filename": "q\"b\\s\nn\tt\u0001c\u007fd", "event": "created", "event_timestamp": 1.0}"#
        ),
        Case(
            directory: "/data/in", filename: [0xC3, 0xA9], event: "exists", timestamp: 1_700_000_000.25,
            python:
                #"{"directory": "/data/in", "filename": "\u00e9", "event": "exists", "event_timestamp": 1700000000.25}"#
        ),
        Case(
            directory: "/d", filename: [0xF0, 0x9F, 0x98, 0x80], event: "created", timestamp: 0.0,
            python: #"{"directory": "/d", "filename": "\ud83d\ude00", "event": "created", "event_timestamp": 0.0}"#),
        Case(
            directory: "/d", filename: [0xFF], event: "created", timestamp: 1_795_548_219.5800452,
            python:
                #"{"directory": "/d", "filename": "\udcff", "event": "created", "event_timestamp": 1795548219.5800452}"#
        ),
        Case(
            directory: "/d", filename: [0xE2, 0x82], event: "created", timestamp: 1_795_548_219.5800452,
            python:
                #"{"directory": "/d", "filename": "\udce2\udc82", "event": "created", "event_timestamp": 1795548219.5800452}"#
        ),
        Case(
            directory: "/d", filename: [0x78, 0xE2, 0x82, 0xAC, 0x79, 0xC3, 0x28, 0x00, 0x7A, 0x0D, 0x08, 0x0C],
            event: "created", timestamp: 1_795_548_219.5800452,
            python:
                #"{"directory": "/d", "filename": "x\u20acy\udcc3(\u0000z\r\b\f", "event": "created", "event_timestamp": 1795548219.5800452}"#
        ),
        // An encoded surrogate, an overlong form and a code point above U+10FFFF: every byte escaped.
        Case(
            directory: "/d", filename: [0xED, 0xA0, 0x80, 0xC0, 0x80, 0xF4, 0x90, 0x80, 0x80], event: "created",
            timestamp: 1e-05,
            python:
                #"{"directory": "/d", "filename": "\udced\udca0\udc80\udcc0\udc80\udcf4\udc90\udc80\udc80", "event": "created", "event_timestamp": 1e-05}"#
        ),
        Case(
            directory: "/répertoire", filename: [], event: "exists", timestamp: 123_456_789.123,
            python:
                #"{"directory": "/r\u00e9pertoire", "filename": "", "event": "exists", "event_timestamp": 123456789.123}"#
        ),
    ]

    @Test("messages are byte for byte what Python's json.dumps writes", arguments: cases)
    func matchesPython(_ example: Case) {
        let message = EventMessage.encode(
            directory: example.directory, filename: example.filename, event: example.event,
            timestamp: example.timestamp)
        #expect(String(decoding: message, as: UTF8.self) == example.python)
        #expect(message.allSatisfy { $0 < 0x80 }, "the message is ASCII")
    }

    @Test("a stored event's message is the encoding of its fields")
    func storedEventMessage() {
        let stored = StoredEvent(
            id: 1,
            event: NewEvent(
                queue: "q", counter: nil, directory: "/d", filename: [0x61, 0xFF], kind: .created,
                timestamp: 1_795_548_219.5800452),
            state: .pending, attempts: 0, lastError: nil, createdAt: 1,
            deliveredAt: nil, replayOf: nil)
        #expect(
            String(decoding: stored.message, as: UTF8.self)
                == #"{"directory": "/d", "filename": "a\udcff", "event": "created", "event_timestamp": 1795548219.5800452}"#
        )
    }

    @Test("the forwarder's bulk strings hold the same messages, whatever changes from one event to the next")
    func bulkStringsOfASequence() {
        var encoder = MessageBulkEncoder()
        var out: [UInt8] = []
        var expected: [UInt8] = []
        // The cases twice over: directories, kinds and timestamps change, repeat and change back. Lengths
        // of two, three and four digits follow each other (the encoder guesses the last one's).
        let long = Case(
            directory: "/d", filename: Array(repeating: UInt8(ascii: "n"), count: 1_000), event: "created",
            timestamp: 2.5,
            python: #"{"directory": "/d", "filename": ""# + String(repeating: "n", count: 1_000)
                + #"", "event": "created", "event_timestamp": 2.5}"#)
        for example in [long] + Self.cases + [long, long] + Self.cases.reversed() + [long] {
            var directory = example.directory
            directory.withUTF8 { directoryBytes in
                example.filename.withUnsafeBufferPointer { nameBytes in
                    encoder.appendBulk(
                        directory: directoryBytes, filename: nameBytes, kind: EventKind(rawValue: example.event)!,
                        timestamp: example.timestamp, to: &out)
                }
            }
            let message = Array(example.python.utf8)
            expected += Array("$\(message.count)\r\n".utf8) + message + [0x0D, 0x0A]
        }
        #expect(String(decoding: out, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test("a timestamp written into a message is the text pythonFloat gives, at every magnitude")
    func timestampsWrittenInPlace() {
        // A fixed sequence (not the clock): today's timestamps, whole numbers, tiny and huge values.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var values: [Double] = [
            0, 1, 0.1, 1e16, 1e-7, 123_456_789.123, 1_795_548_219.5800452, .greatestFiniteMagnitude,
        ]
        for _ in 0..<2_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Double(bitPattern: (state >> 2) & 0x7FEF_FFFF_FFFF_FFFF))
            values.append(1_795_000_000 + Double(state % 1_000_000_000_000) / 1_000_000)
        }
        for value in values {
            var out: [UInt8] = [0x2A]
            EventMessage.appendTimestamp(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == "*" + EventMessage.pythonFloat(value) + "}", "\(value)")
        }
    }
}
