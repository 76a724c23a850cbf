import Foundation

/// Output for the benchmarks: each line is written at once, unbuffered even into a pipe or a file, so each
/// phase of a long run shows up as it ends.
public enum BenchOutput {
    /// Writes `line` and a newline to standard output.
    public static func line(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Writes `message` and a newline to standard error and exits with `status`.
    public static func fail(_ message: String, status: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(status)
    }
}
