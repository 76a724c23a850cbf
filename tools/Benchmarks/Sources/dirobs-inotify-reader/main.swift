// dirobs-inotify-reader DIR COUNT paced|eager: the least an inotify watcher can do. It watches DIR for
// created and moved-in files, prints "ready" once the watch is armed, reads the kernel queue until COUNT
// events came (parsing only their lengths), prints the count and exits. `paced` pauses between reads as the
// daemon's watcher does (`ReadPacing`); `eager` reads again as soon as poll says there is more.
// tools/bench times dirobs-burst beside it: the burst's floor for any watcher of one directory.
import DirectoryObserver
import Glibc

let usage = "usage: dirobs-inotify-reader DIR COUNT paced|eager"

/// Writes `text` and a newline on `descriptor` at once (no stdio buffer to flush).
func say(_ text: String, on descriptor: Int32 = 1) {
    let line = Array("\(text)\n".utf8)
    _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    say("dirobs-inotify-reader: \(message)", on: 2)
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[2]), count > 0, ["paced", "eager"].contains(arguments[3])
else { fail(usage) }
let pacing: ReadPacing? = arguments[3] == "paced" ? ReadPacing.forThisMachine() : nil

let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
guard inotify >= 0 else { fail("inotify_init1 failed: \(String(cString: strerror(errno)))") }
guard inotify_add_watch(inotify, arguments[1], UInt32(IN_CREATE | IN_MOVED_TO)) >= 0 else {
    fail("inotify_add_watch(\(arguments[1])) failed: \(String(cString: strerror(errno)))")
}
say("ready")

var buffer = [UInt8](repeating: 0, count: 256 * 1024)
var descriptor = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
var seen = 0
while seen < count {
    _ = poll(&descriptor, 1, -1)
    let bytes = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
    guard bytes > 0 else { continue }
    var events = 0
    buffer.withUnsafeBytes { raw in
        var offset = 0
        while offset < bytes {
            offset +=
                MemoryLayout<inotify_event>.size + Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            events += 1
        }
    }
    seen += events
    if let pause = pacing?.pause(afterReading: events) { _ = poll(nil, 0, pause) }
}
say(String(seen))
