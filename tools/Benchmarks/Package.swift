// swift-tools-version:6.0
import PackageDescription

// The benchmarks, a package apart from the product (as swift-nio keeps its own): building the root package
// builds none of this. Each executable links the root's `DirectoryObserver` library, the code the daemon
// runs. The tools/bench-* scripts build and run them; see each script's usage line.

// What the executables link: the root's library and swift-log.
let library = Target.Dependency.product(name: "DirectoryObserver", package: "directory_observer")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that `library` does not depend on the checkout's folder name.
        .package(name: "directory_observer", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // What the benchmarks share: unbuffered output lines and medians.
        .target(name: "BenchSupport"),
        // The outbox's append, read + mark delivered and prune paths (tools/bench-outbox).
        .executableTarget(name: "dirobs-bench-outbox", dependencies: ["BenchSupport", library, logging]),
        // The forwarder draining a large backlog into a private redis-server (tools/bench-drain).
        .executableTarget(name: "dirobs-bench-drain", dependencies: ["BenchSupport", library, logging]),
        // Builds large outboxes in mixed states (tools/bench-stats, tools/bench-scrape).
        .executableTarget(name: "dirobs-fill", dependencies: [library]),
        // The least an inotify watcher can do, paced as the daemon's or not: the burst's floor (tools/bench).
        .executableTarget(name: "dirobs-inotify-reader", dependencies: [library]),
    ]
)
