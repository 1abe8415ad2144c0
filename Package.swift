// swift-tools-version:6.2
import PackageDescription

/// The settings of every Berth target: upcoming language features it opts into, and concrete
/// type metadata reached through accessor functions instead of mangled names, so a generic
/// type's first use costs no runtime demangling and protocol-conformance scan (see
/// docs/architecture.md, "Start-up").
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .library(name: "BerthCore", targets: ["BerthCore"]),
        .library(name: "BerthManifests", targets: ["BerthManifests"]),
        .library(name: "BerthDocker", targets: ["BerthDocker"]),
        .library(name: "BerthObjectStore", targets: ["BerthObjectStore"]),
        .library(name: "BerthStore", targets: ["BerthStore"]),
        .library(name: "BerthController", targets: ["BerthController"]),
        .library(name: "BerthCerts", targets: ["BerthCerts"]),
        .library(name: "BerthAPI", targets: ["BerthAPI"]),
        .library(name: "BerthServer", targets: ["BerthServer"]),
        .library(name: "BerthWebUI", targets: ["BerthWebUI"]),
        .library(name: "BerthGit", targets: ["BerthGit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .target(name: "BerthCore", swiftSettings: strictSettings),
        // libcurl's declarations only (no pkg-config, which would link it); CLibraryLoader loads
        // the library on a thread of its own that starts with the process.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "BerthHTTP", dependencies: ["CCurl", "CLibraryLoader"], swiftSettings: strictSettings),
        // zlib, for the gzip objects of jobs' archived output (BerthObjectStore's GzipStream).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "BerthHostFiles", swiftSettings: strictSettings),
        .target(
            name: "BerthDocker",
            dependencies: ["BerthCore", "BerthHTTP"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BerthObjectStore",
            dependencies: ["BerthCore", "BerthHTTP", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BerthManifests",
            dependencies: ["BerthCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // `berth import compose`: compose files read as `docker compose config` would, and translated.
        .target(
            name: "BerthCompose",
            dependencies: ["BerthCore", "BerthManifests"],
            swiftSettings: strictSettings
        ),
        // Git as the source of desired state, driven through the git CLI (docs/architecture.md).
        .target(name: "BerthSubprocess", swiftSettings: strictSettings),
        .target(name: "BerthGit", dependencies: ["BerthSubprocess", "BerthHostFiles"], swiftSettings: strictSettings),
        // libpq's declarations only (no pkg-config, which would link it); CLibraryLoader loads the
        // library when a PostgreSQL store first calls it.
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        .target(name: "CLibraryLoader", dependencies: ["CLibPQ", "CCurl"], linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "BerthStore",
            dependencies: [
                "BerthCore",
                "BerthHostFiles",
                "CLibPQ",
                "CLibraryLoader",
                "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BerthCerts",
            dependencies: [
                "BerthCore",
                "BerthHostFiles",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BerthController",
            dependencies: [
                "BerthCore",
                "BerthManifests",
                "BerthDocker",
                "BerthObjectStore",
                "BerthStore",
                "BerthCerts",
                "BerthHostFiles",
                "BerthGit",
                "BerthSubprocess",
                "BerthHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BerthAPI",
            dependencies: [
                "BerthCore",
                "BerthManifests",
                "BerthDocker",
                "BerthHTTP",
                "BerthStore",
                "BerthObjectStore",
                "BerthController",
                "BerthHostFiles",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The web UI at /ui/: server-rendered pages over the API's functions (docs/architecture.md).
        .target(
            name: "BerthWebUI",
            dependencies: [
                "BerthAPI",
                "BerthController",
                "BerthCore",
                "BerthStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Wiring shared by `serve` and the tests: the controller and the API built from their parts.
        .target(
            name: "BerthServer",
            dependencies: [
                "BerthAPI",
                "BerthWebUI",
                "BerthController",
                "BerthCore",
                "BerthDocker",
                "BerthObjectStore",
                "BerthStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "BerthAPI",
                "BerthWebUI",
                "BerthCompose",
                "BerthServer",
                "BerthCore",
                "BerthManifests",
                "BerthController",
                "BerthDocker",
                "BerthObjectStore",
                "BerthStore",
                "BerthHostFiles",
                "BerthGit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings,
            // The executable exports none of its 44,000 symbols to the dynamic linker: nothing
            // looks them up, and every library's imports were searched through them at each start
            // (docs/benchmarks.md, "Controller").
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])]
        ),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "BerthManifestsTests",
            dependencies: ["BerthManifests", "BerthCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BerthHTTPTests", dependencies: ["BerthHTTP"], swiftSettings: strictSettings),
        .testTarget(name: "BerthHostFilesTests", dependencies: ["BerthHostFiles"], swiftSettings: strictSettings),
        .testTarget(
            name: "BerthDockerTests",
            dependencies: ["BerthDocker", "BerthCore", "BerthHTTP"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BerthObjectStoreTests",
            dependencies: ["BerthObjectStore", "BerthCore", "BerthHTTP"],
            swiftSettings: strictSettings
        ),
        // A helper process for the store tests: claims jobs and holds their leases until killed.
        .executableTarget(
            name: "berth-store-probe",
            dependencies: ["BerthStore", "BerthCore"],
            path: "Tests/berth-store-probe",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BerthStoreTests",
            dependencies: ["BerthStore", "BerthCore", "berth-store-probe"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BerthControllerTests",
            dependencies: [
                "BerthController", "BerthCore", "BerthDocker", "BerthObjectStore", "BerthStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BerthCertsTests", dependencies: ["BerthCerts", "BerthCore", "BerthHostFiles"], swiftSettings: strictSettings),
        .testTarget(
            name: "BerthAPITests",
            dependencies: [
                "BerthAPI", "BerthServer", "BerthController", "BerthCore", "BerthStore", "BerthDocker",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BerthWebUITests",
            dependencies: [
                "BerthWebUI", "BerthAPI", "BerthServer", "BerthController", "BerthCore", "BerthStore", "BerthDocker",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BerthComposeTests", dependencies: ["BerthCompose", "BerthCore", "BerthManifests"], swiftSettings: strictSettings),
        .testTarget(name: "BerthGitTests", dependencies: ["BerthGit"], swiftSettings: strictSettings),
        .testTarget(
            name: "BerthCLITests",
            dependencies: ["berth", "BerthObjectStore", "BerthCore", "BerthStore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
