import Foundation

/// `redis-benchmark -p PORT -t lpush -P 64 -n 1000000 -q`: LPUSH requests per second.
func lpushCeiling(port: Int) -> Double? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["redis-benchmark", "-p", String(port), "-t", "lpush", "-P", "64", "-n", "1000000", "-q"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    // -q prints progress lines ended by \r, then "LPUSH: 1234567.89 requests per second, p50=… msec".
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last(where: { $0.hasPrefix("LPUSH:") })
    else { return nil }
    let number = line.dropFirst("LPUSH:".count).drop { $0 == " " }.prefix { $0.isNumber || $0 == "." }
    return Double(number)
}
