import Glibc

/// Reads the small text files the configuration refers to (the INI file, a password file), turning every
/// failure into a one-line `ConfigError` that names the file and says why: missing, a directory, unreadable,
/// not UTF-8.
enum ConfigFileReader {
    /// What went wrong when reading a file, before it is worded for the file that referred to it.
    enum Failure: Error, Equatable {
        case missing
        case directory
        case unreadable(String)
        case notUTF8(line: Int)

        /// The reason, in words.
        var reason: String {
            switch self {
            case .missing: return "no such file"
            case .directory: return "is a directory, not a file"
            case .unreadable(let why): return "cannot be read: \(why)"
            case .notUTF8(let line): return "is not valid UTF-8 (line \(line))"
            }
        }
    }

    /// Whether something (file, directory, anything) exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The file's content as UTF-8 text, a leading byte order mark removed.
    static func text(atPath path: String) throws(Failure) -> String {
        let bytes = try self.bytes(atPath: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .notUTF8(line: firstInvalidLine(bytes))
        }
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }

    /// The file's raw bytes; refuses directories and anything `open`/`read` rejects, with `strerror`'s words.
    static func bytes(atPath path: String) throws(Failure) -> [UInt8] {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .missing }
            throw .unreadable(describe(code))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .directory }

        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 { throw .unreadable(describe(errno)) }
        defer { close(descriptor) }

        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(describe(errno))
            }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// `strerror` for `code`, e.g. "Permission denied".
    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// The 1-based line holding the first byte that breaks UTF-8 decoding.
    private static func firstInvalidLine(_ bytes: [UInt8]) -> Int {
        var line = 1
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput, .error: return line
            }
        }
    }
}
