// swift-tools-version:6.2
import PackageDescription

// Micro benchmarks for Berth, in a package of their own so that the root package's build and
// `swift test` never resolve or compile the benchmark framework. Run them with `scripts/bench`.
let package = Package(
    name: "BerthBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Berth", path: ".."),
        // The trait list replaces the package's defaults: MallocInterposer gives the malloc metrics
        // without jemalloc; RuntimeInterposer (ARC counters on Linux with Swift 6.3) is left out
        // because its package is not in the local mirror and no benchmark here reads ARC counts.
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "BerthBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BerthCore", package: "Berth"),
                .product(name: "BerthManifests", package: "Berth"),
            ],
            path: "Benchmarks/BerthBenchmarks",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // Plain executables, run by scripts of their own against real services.
        .executableTarget(
            name: "DockerBench",
            dependencies: [.product(name: "BerthDocker", package: "Berth")],
            path: "Sources/DockerBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
        .executableTarget(
            name: "CertBench",
            dependencies: [
                .product(name: "BerthCerts", package: "Berth"),
                .product(name: "BerthCore", package: "Berth"),
            ],
            path: "Sources/CertBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
        .executableTarget(
            name: "JobBench",
            dependencies: [
                .product(name: "BerthController", package: "Berth"),
                .product(name: "BerthStore", package: "Berth"),
                .product(name: "BerthDocker", package: "Berth"),
                .product(name: "BerthCore", package: "Berth"),
            ],
            path: "Sources/JobBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
        .executableTarget(
            name: "UIBench",
            dependencies: [
                .product(name: "BerthAPI", package: "Berth"),
                .product(name: "BerthCore", package: "Berth"),
                .product(name: "BerthStore", package: "Berth"),
                .product(name: "BerthWebUI", package: "Berth"),
            ],
            path: "Sources/UIBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
        .executableTarget(
            name: "StoreBench",
            dependencies: [
                .product(name: "BerthCore", package: "Berth"),
                .product(name: "BerthStore", package: "Berth"),
            ],
            path: "Sources/StoreBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
