import DirectoryObserver
import Logging

/// Bootstraps swift-log once for the executable and returns the destination (for SIGHUP reopens).
enum LogBootstrap {
    static func start(path: String?, level: Logger.Level, format: LogFormat = .plain) throws(SystemError)
        -> LogDestination
    {
        let destination = try LogDestination(path: path)
        LoggingSystem.bootstrap { _ in LineLogHandler(destination: destination, logLevel: level, format: format) }
        return destination
    }
}
