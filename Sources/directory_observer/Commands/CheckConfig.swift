import ArgumentParser
import DirectoryObserver
import Foundation

/// `check-config --config FILE [--json] [--strict]`: loads and validates the configuration and prints the
/// resolved monitors and global settings; exits 0 when valid, 78 with one line naming the problem otherwise.
/// Keys no rule reads get one warning line each on stderr; with `--strict` they make the check fail (78).
/// The Redis password is never printed.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the configuration and print the resolved monitors and settings."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Flag(name: .long, help: "Fail (exit 78) when the file has keys no rule reads.")
    var strict = false

    func run() throws {
        let configuration = try ConfigLoader.load(
            path: options.config, environment: ProcessInfo.processInfo.environment)
        var standardError = StandardError()
        for unknown in configuration.unknownKeys {
            print("directory_observer: warning: \(unknown)", to: &standardError)
        }
        if strict, !configuration.unknownKeys.isEmpty {
            let count = configuration.unknownKeys.count
            throw ConfigError(
                file: configuration.file,
                reason: "\(count) unknown key\(count == 1 ? "" : "s") (--strict); see the warnings above")
        }
        print(json ? ConfigReport.json(configuration) : ConfigReport.text(configuration))
    }
}
