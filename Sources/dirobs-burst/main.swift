// dirobs-burst DIR COUNT [PREFIX]: creates COUNT empty files in DIR as fast as it can (open with
// O_CREAT|O_WRONLY, then close), named PREFIX followed by the index (PREFIX defaults to "burst-"), and
// prints the seconds it took on stdout. Used to provoke an inotify queue overflow for real and to time
// bursts against the original tool; it has no dependency so its own cost stays a bare system-call loop.
import Glibc

let usage = "usage: dirobs-burst DIR COUNT [PREFIX]"

func fail(_ message: String) -> Never {
    let line = Array("dirobs-burst: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4 else { fail(usage) }
let directory = arguments[1]
guard let count = Int(arguments[2]), count >= 0 else { fail("COUNT must be a whole number >= 0; \(usage)") }
let prefix = arguments.count == 4 ? arguments[3] : "burst-"
guard !prefix.contains("/") else { fail("PREFIX must not contain '/'; \(usage)") }

var info = stat()
guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
    fail("\(directory) is not a directory; \(usage)")
}

// Paths are built before the clock starts, so the timed loop is only open + close.
let names: [String] = (0..<count).map { "\(directory)/\(prefix)\($0)" }
let paths: [[CChar]] = names.map { Array($0.utf8CString) }

var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
for (index, path) in paths.enumerated() {
    let fd = path.withUnsafeBufferPointer { open($0.baseAddress!, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
    guard fd >= 0 else {
        fail("open(\(names[index])) failed: \(String(cString: strerror(errno)))")
    }
    close(fd)
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let micros = (Int(end.tv_sec) - Int(start.tv_sec)) * 1_000_000 + (Int(end.tv_nsec) - Int(start.tv_nsec)) / 1_000
let fraction = String(micros % 1_000_000)
print("\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)")
