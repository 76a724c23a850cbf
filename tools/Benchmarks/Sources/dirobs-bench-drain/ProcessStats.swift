import Foundation
import Glibc

/// A field of /proc/self/status in kB (`VmRSS`, `VmHWM`), read without Foundation so the sampler itself
/// allocates next to nothing.
func statusKilobytes(_ field: String) -> Int {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return -1 }
    let prefix = Array("\(field):".utf8)
    var start = 0
    while start < count {
        var end = start
        while end < count && buffer[end] != 0x0A { end += 1 }
        if end - start > prefix.count && Array(buffer[start..<start + prefix.count]) == prefix {
            let digits = buffer[(start + prefix.count)..<end].filter { $0 >= 0x30 && $0 <= 0x39 }
            return Int(String(decoding: digits, as: UTF8.self)) ?? -1
        }
        start = end + 1
    }
    return -1
}

/// CPU seconds (user + system) a process has used so far, from /proc/PID/stat ("self" for this one).
func cpuSeconds(_ pid: String) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let end = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func megabytes(_ kilobytes: Int) -> String {
    String(format: "%.1f MB", Double(kilobytes) / 1024)
}
