import ArgumentParser

/// The `--config FILE` option shared by the commands that read the configuration (`--config=FILE`, the
/// original's spelling, works too). Relative paths are resolved by `ConfigLoader`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (the original's INI layout).", valueName: "FILE"))
    var config: String
}
