import ArgumentParser
import DirectoryObserver
import Foundation

/// `check-config --config FILE [--json]`: loads and validates the configuration and prints the resolved
/// monitors and global settings; exits 0 when valid, 78 with one line naming the problem otherwise. The Redis
/// password is never printed.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the configuration and print the resolved monitors and settings."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let configuration = try ConfigLoader.load(
            path: options.config, environment: ProcessInfo.processInfo.environment)
        print(json ? ConfigReport.json(configuration) : ConfigReport.text(configuration))
    }
}
