import ArgumentParser

/// How log lines are written: `plain` (`TIME level message key=value …`, the default) or `json` (one
/// object per line, for journald, Vector or Fluent Bit).
enum LogFormat: String, CaseIterable, ExpressibleByArgument {
    case plain
    case json
}
