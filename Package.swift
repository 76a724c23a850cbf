// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "directory_observer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "directory_observer", targets: ["directory_observer"]),
        // For tools/Benchmarks, the package of its own that measures the library and the daemon: it links the
        // library and builds the daemon and the burst producer (tools/bench runs both) as its dependency's.
        .library(name: "DirectoryObserver", targets: ["DirectoryObserver"]),
        .executable(name: "dirobs-burst", targets: ["dirobs-burst"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CDirObsSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // No pkgConfig here: Debian's hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM rejects with a
        // warning on every build. The headers are in /usr/include/hiredis and the modulemap links -lhiredis.
        .systemLibrary(
            name: "CDirObsHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // statfs(2) (sys/vfs.h, part of libc): Swift's Glibc module does not include it.
        .systemLibrary(name: "CDirObsFileSystem"),
        .executableTarget(
            name: "EmbedMigrationsTool",
            path: "Sources/EmbedMigrationsTool"
        ),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["EmbedMigrationsTool"]
        ),
        .target(
            name: "DirectoryObserver",
            dependencies: [
                "CDirObsSQLite",
                "CDirObsHiredis",
                "CDirObsFileSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(
            name: "directory_observer",
            dependencies: [
                "DirectoryObserver",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test support, not shipped: processes the test suite spawns. dirobs-burst (no dependencies, a bare
        // open/close loop; tools/bench times bursts with it too) and dirobs-test-child (the crash test's
        // appending writer, the lock tests' other holder). The benchmarks live in tools/Benchmarks.
        .executableTarget(
            name: "dirobs-burst",
            path: "Sources/dirobs-burst"
        ),
        .executableTarget(
            name: "dirobs-test-child",
            dependencies: [
                "DirectoryObserver",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What both test targets share (a seeded random generator).
        .target(
            name: "DirectoryObserverTestSupport",
            path: "Tests/DirectoryObserverTestSupport"
        ),
        .testTarget(
            name: "DirectoryObserverTests",
            dependencies: [
                "DirectoryObserver",
                "DirectoryObserverTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "DirectoryObserver",
                "DirectoryObserverTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            // Files the tests read by path (the original's configuration layout, the scrape parser).
            exclude: ["Fixtures"]
        ),
    ]
)
