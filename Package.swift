// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "MaShangBan",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mashangban", targets: ["MaShangBanServer"]),
        .library(name: "MaShangBan", targets: ["MaShangBan"]),
        .executable(name: "mashangban-fuzz", targets: ["MaShangBanFuzz"]),
        .executable(name: "mashangban-bench", targets: ["MaShangBanBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Already in the graph through Hummingbird; named for NIOHTTPTypes (the request parts the slow-client
        // guard sees) and NIOHTTP1 (the parser's error when a client breaks off a request).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CQREncode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev", "libpng-dev"])]
        ),
        // Process-wide SQLite settings made at program load (sqlite3_config is variadic: C only).
        .target(
            name: "CSQLiteSettings",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "MaShangBan",
            dependencies: [
                "COpenSSL",
                "CQREncode",
                "CSQLiteSettings",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Storage/schema.sql"]
        ),
        // What `serve --demo` adds and the stand-ins for demos and drills: sample data, the
        // approval-system stub (`approval-stub`) and the face-auth stub (`face-auth-stub`).
        .target(
            name: "MaShangBanDemo",
            dependencies: [
                "MaShangBan",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "MaShangBanServer",
            dependencies: [
                "MaShangBan",
                "MaShangBanDemo",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [.copy("Resources/openapi.yaml")]
        ),
        // `make bench`: throughput figures; starts the `mashangban` beside it as the server under test.
        .executableTarget(
            name: "MaShangBanBench",
            dependencies: [
                "MaShangBan",
                "Spawn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // libFuzzer targets (`make fuzz`); a replayer of saved inputs in normal builds.
        .executableTarget(
            name: "MaShangBanFuzz",
            dependencies: ["MaShangBan", "CFuzzDriver"]
        ),
        .target(name: "CFuzzDriver"),
        // Child processes for the bench and the tests, started with posix_spawn (not Foundation's Process).
        .target(name: "Spawn", dependencies: ["CSpawn"]),
        .target(name: "CSpawn"),
        // What both test targets stand on: temporary directories, the test clock, sample
        // holders and licences, tool checks. Public API of the library only.
        .target(
            name: "MaShangBanTestSupport",
            dependencies: ["MaShangBan"],
            path: "Tests/MaShangBanTestSupport"
        ),
        .testTarget(
            name: "MaShangBanTests",
            dependencies: ["MaShangBan", "MaShangBanTestSupport", "Spawn", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "MaShangBanServerTests",
            dependencies: [
                "MaShangBanServer",
                "MaShangBanBench",
                "MaShangBan",
                "MaShangBanTestSupport",
                "Spawn",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
