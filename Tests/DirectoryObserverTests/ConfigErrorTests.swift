import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// Each error is one line naming the file, the section, the key and the value.
@Suite("Configuration errors name the file, the section, the key and the value")
struct ConfigErrorTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let scratch = ConfigScratch()

    /// Loads `text` and returns the error's one-line description, failing the test when it loads.
    private func message(_ text: String, environment: [String: String] = [:]) throws -> String {
        let error = try #require(try scratch.loadError(text, environment: environment))
        let line = error.description
        #expect(!line.contains("\n"))
        #expect(line.hasPrefix(scratch.path + "/config.ini"))
        return line
    }

    @Test("a missing file is named, with the MetWork places that were tried")
    func missingFile() throws {
        #expect(throws: ConfigError(file: scratch.path + "/absent.ini", reason: "no such file")) {
            try ConfigLoader.load(path: "absent.ini", environment: [:], workingDirectory: scratch.path)
        }
        #expect(throws: ConfigError.self) {
            try ConfigLoader.load(path: "/nonexistent/dir/x.ini", environment: [:])
        }
        let home = scratch.path + "/home"
        do throws(ConfigError) {
            _ = try ConfigLoader.load(
                path: "absent.ini", environment: ["MFMODULE": "MFDATA", "MFDATA_HOME": home],
                workingDirectory: scratch.path)
            Issue.record("loaded a missing file")
        } catch {
            #expect(
                error.description == "\(scratch.path)/absent.ini: no such file (also looked for "
                    + "\(home)/config_auto/absent.ini and \(home)/config/absent.ini)")
        }
    }

    @Test("a directory given as the file is refused")
    func directoryAsFile() throws {
        #expect(throws: ConfigError(file: scratch.path, reason: "is a directory, not a file")) {
            try ConfigLoader.load(path: scratch.path, environment: [:])
        }
    }

    @Test("an unreadable file is refused with the system's reason")
    func unreadable() throws {
        // root reads any file whatever its mode; /proc/self/mem is a regular file whose read fails for all.
        let file: String
        if geteuid() == 0 {
            file = "/proc/self/mem"
        } else {
            file = try scratch.write("locked.ini", monitorSection())
            chmod(file, 0)
        }
        do throws(ConfigError) {
            _ = try ConfigLoader.load(path: file, environment: [:])
            Issue.record("read an unreadable file")
        } catch {
            #expect(error.description.hasPrefix("\(file): cannot be read: "))
        }
    }

    @Test("a file that is not UTF-8 is refused, naming the line")
    func notUTF8() throws {
        let file = try scratch.write("latin1.ini", bytes: Array("[m]\nactive=true\ndirectory=caf".utf8) + [0xE9, 0x0A])
        #expect(throws: ConfigError(file: file, reason: "is not valid UTF-8 (line 3)")) {
            try ConfigLoader.load(path: file, environment: [:])
        }
    }

    @Test("a file with no active monitor is refused")
    func noActiveMonitor() throws {
        let line = try message("[common]\nactive=false\n[m]\ndirectory=d\nqueue=q\n")
        #expect(line.hasSuffix(": no active monitor: no section has active=true (1/yes/true/on) and a directory"))
    }

    @Test("an active monitor without a queue names its section")
    func monitorWithoutQueue() throws {
        let line = try message("[watch:common]\nactive=true\ndirectory=d\n")
        #expect(
            line == "\(scratch.path)/config.ini: [watch] queue: an active monitor needs a queue "
                + "(the Redis list its events go to)")
    }

    @Test("an invalid regex names the section, the key, the pattern and the reason", arguments: ["only", "ignore"])
    func invalidRegex(key: String) throws {
        let line = try message(monitorSection(extra: "\(key)=^ok;([a-"))
        #expect(line.hasPrefix("\(scratch.path)/config.ini: [m] \(key)='([a-': invalid regular expression: "))
        #expect(line.count > "\(scratch.path)/config.ini: [m] \(key)='([a-': invalid regular expression: ".count)
    }

    @Test("a non-numeric port names the key and the value")
    func nonNumericPort() throws {
        let line = try message("[common]\nredis_port=sixthousand\n" + monitorSection())
        #expect(
            line == "\(scratch.path)/config.ini: [m] redis_port='sixthousand': not a port number (1-65535) (line 2)")
    }

    @Test("two active sections with different Redis servers name both sections, the key and both values")
    func disagreeingServers() throws {
        let line = try message(
            monitorSection("a", extra: "redis_server=host-a") + monitorSection("b", extra: "redis_server=host-b"))
        #expect(
            line == "\(scratch.path)/config.ini: [a] redis_server='host-a': [b] has redis_server='host-b': "
                + "active sections must agree on global keys")
    }

    @Test("a global key given by one section and defaulted in another disagrees, naming the default")
    func disagreeingWithDefault() throws {
        let line = try message(monitorSection("a") + monitorSection("b", extra: "redis_port=7000"))
        #expect(line.contains("[a] redis_port='6379': [b] has redis_port='7000'"))
    }

    @Test("disagreeing passwords are reported without showing either")
    func disagreeingPasswords() throws {
        let line = try message(
            monitorSection("a", extra: "redis_password=hunter2") + monitorSection("b", extra: "redis_password=xyzzy"))
        #expect(line.contains("[a] redis_password: [b] has redis_password: active sections must agree"))
        #expect(!line.contains("hunter2"))
        #expect(!line.contains("xyzzy"))
    }

    @Test("an unknown announce value is refused")
    func unknownAnnounce() throws {
        let line = try message(monitorSection(extra: "announce=modify"))
        #expect(
            line == "\(scratch.path)/config.ini: [m] announce='modify': unknown value: use create or close (line 5)")
    }

    @Test("an unknown outbox_sync value is refused")
    func unknownOutboxSync() throws {
        let line = try message("[common]\noutbox_sync=off\n" + monitorSection())
        #expect(line == "\(scratch.path)/config.ini: [m] outbox_sync='off': unknown value: use full or normal (line 2)")
    }

    @Test("an invalid boolean is refused, even in a section that would not be a monitor")
    func invalidBoolean() throws {
        let line = try message(monitorSection() + "[other]\nactive=maybe\n")
        #expect(
            line == "\(scratch.path)/config.ini: [other] active='maybe': not a boolean: use 1/yes/true/on or "
                + "0/no/false/off (line 7)")
    }

    @Test(
        "negative or non-numeric durations and counts are refused",
        arguments: [
            ("timeout=-1", "[m] timeout='-1': must be more than 0 seconds"),
            ("timeout=0", "[m] timeout='0': must be more than 0 seconds"),
            ("forced_poll=-3", "[m] forced_poll='-3': must not be negative"),
            ("forced_poll=soon", "[m] forced_poll='soon': not a number of seconds"),
            ("poll_queue_limit=many", "[m] poll_queue_limit='many': not a whole number"),
            ("redis_db=-1", "[m] redis_db='-1': must not be negative"),
            ("outbox_retention=-5", "[m] outbox_retention='-5': must not be negative"),
            ("outbox_max_pending=1.5", "[m] outbox_max_pending='1.5': not a whole number"),
            ("retry_initial=nan", "[m] retry_initial='nan': not a number of seconds"),
            ("retry_max=0.01", "[m] retry_max='0.01': must not be less than retry_initial"),
            ("max_attempts=0", "[m] max_attempts='0': must be 1 or more"),
            ("redis_port=70000", "[m] redis_port='70000': not a port number (1-65535)"),
        ])
    func badNumbers(setting: String, expected: String) throws {
        let line = try message(monitorSection(extra: setting))
        #expect(line == "\(scratch.path)/config.ini: \(expected) (line 5)")
    }

    @Test("an unknown parent section and a cycle of parents name the section")
    func badParents() throws {
        let unknown = try message("[m:ghost]\nactive=true\ndirectory=d\nqueue=q\n")
        #expect(unknown == "\(scratch.path)/config.ini: [m] 'm:ghost': unknown parent section [ghost] (line 1)")
        let cycle = try message("[a:b]\nactive=true\ndirectory=d\nqueue=q\n[b:a]\n")
        #expect(
            cycle == "\(scratch.path)/config.ini: [a] 'a:b': sections inherit from each other in a cycle: "
                + "[a:b] -> [b:a] -> [a:b]")
    }

    @Test("an unreadable password file is named")
    func passwordFile() throws {
        let line = try message("[common]\nredis_password_file=missing.txt\n" + monitorSection())
        #expect(
            line == "\(scratch.path)/config.ini: [m] redis_password_file='missing.txt': the password file "
                + "\(scratch.path)/missing.txt no such file (line 2)")
    }

    @Test("a line that is not a header, a key or a comment is refused with its line number")
    func syntaxErrors() throws {
        let garbage = try message(monitorSection() + "just words\n")
        #expect(
            garbage == "\(scratch.path)/config.ini: [m] 'just words': line 6: expected [section], key=value, "
                + "key: value or a comment")
        let early = try message("queue=q\n" + monitorSection())
        #expect(early == "\(scratch.path)/config.ini queue='q': line 1: key before the first [section] header")
    }
}
