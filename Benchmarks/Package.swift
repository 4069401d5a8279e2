// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// The package identity of the parent StreamKit checkout: SwiftPM names a path dependency after its
/// folder, which is `main` here but may be anything in another clone.
let streamKitPackage = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

/// Settings shared by every Swift target, as in the parent package.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "StreamKitBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The core engine against hand-written loops: windowed aggregation and a stateless chain.
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StreamKit", package: streamKitPackage),
            ],
            path: "Benchmarks/CoreBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // Decoding IoT readings (JSONDecoder against FlatJSONDecoder), and a StreamKit pipeline fed
        // by a real mosquitto against mosquitto_sub.
        .executableTarget(
            name: "MQTTBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StreamKit", package: streamKitPackage),
                .product(name: "StreamKitMQTT", package: streamKitPackage),
            ],
            path: "Benchmarks/MQTTBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
    ]
)
