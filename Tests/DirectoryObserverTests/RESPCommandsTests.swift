import Testing

@testable import DirectoryObserver

@Suite("RESP encoding")
struct RESPCommandsTests {
    @Test("a command is an array of bulk strings, any byte allowed, and the count follows the commands")
    func commandBytes() {
        var commands = RESPCommands()
        commands.append([Array("SET".utf8), Array("k".utf8), [0x61, 0x00, 0x0D, 0x0A]])
        commands.append("GET", "k")
        let expected = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        #expect(commands.bytes == Array(expected.utf8))
        #expect(commands.count == 2)
    }

    @Test("integers are written as their decimal digits", arguments: [
        Int64(0), 9, 10, 4_096, -5, -10, Int64.max, Int64.min,
    ])
    func decimal(value: Int64) {
        var out: [UInt8] = []
        RESPCommands.appendDecimal(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(value))
    }

    @Test("an empty argument is a bulk string of length zero")
    func emptyArgument() {
        var commands = RESPCommands()
        commands.append([Array("ECHO".utf8), []])
        #expect(commands.bytes == Array("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".utf8))
    }
}
