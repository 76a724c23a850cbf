import Glibc

@testable import DirectoryObserver

extension ForwarderFixture {
    /// `count` `created` events of `queue` whose files exist in the watched directory (names may not be
    /// UTF-8, so files are made from the raw bytes).
    func eventsWithFiles(
        queue: String, count: Int, stem: String, counter: String? = nil, kind: EventKind = .created
    ) throws -> [NewEvent] {
        let events = Self.events(
            queue: queue, counter: counter, count: count, stem: stem, kind: kind, directory: watched)
        for event in events {
            let descriptor = Self.bytePath(watched, event.filename).withUnsafeBufferPointer {
                $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
            }
            guard descriptor >= 0 else { throw FixtureError(detail: "cannot create a watched file") }
            close(descriptor)
        }
        return events
    }

    /// Removes an event's file, as a consumer that took it would.
    func removeFile(of event: NewEvent) {
        _ = Self.bytePath(event.directory, event.filename).withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { unlink($0.baseAddress!) }
        }
    }

    /// `directory/name` as a NUL-terminated byte path.
    static func bytePath(_ directory: String, _ name: [UInt8]) -> [UInt8] {
        Array(directory.utf8) + [UInt8(ascii: "/")] + name + [0]
    }
}

extension ForwarderFixture {
    /// Polls `condition` every 20 ms until it holds or `seconds` pass, sleeping without holding a thread
    /// of the test runner's small pool (long tests must not starve the others); returns whether it held.
    @discardableResult
    func waitAsync(seconds: Double = 30, until condition: () throws -> Bool) async throws -> Bool {
        let deadline = Clock.monotonic() + seconds
        while true {
            if try condition() { return true }
            if Clock.monotonic() >= deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Sleeps `seconds` without holding a thread of the test runner's pool.
func pauseAsync(_ seconds: Double) async throws {
    guard seconds > 0 else { return }
    try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
}
