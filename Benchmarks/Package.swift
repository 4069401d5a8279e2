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
        // The metrics overhead benchmark: StreamKit's metrics into swift-prometheus, on and off.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
    ],
    targets: [
        // What the benchmark executables share: the thread their runner runs on.
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport", swiftSettings: swiftSettings),
        // What the MQTT and IoT benchmarks share: a mosquitto broker of their own and the command-line
        // clients, started with `posix_spawn`.
        .target(
            name: "MQTTBenchmarkSupport",
            dependencies: [.product(name: "StreamKitMQTT", package: streamKitPackage)],
            path: "Benchmarks/MQTTBenchmarkSupport",
            swiftSettings: swiftSettings
        ),
        // The core engine against hand-written loops: windowed aggregation and a stateless chain.
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                .product(name: "StreamKit", package: streamKitPackage),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
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
                "BenchmarkSupport",
                "MQTTBenchmarkSupport",
                .product(name: "StreamKit", package: streamKitPackage),
                .product(name: "StreamKitMQTT", package: streamKitPackage),
            ],
            path: "Benchmarks/MQTTBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // The electricity-flows example in batch mode over the whole flows file (the real one when
        // present), and its parser alone.
        .executableTarget(
            name: "ElectricityBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                .product(name: "StreamKit", package: streamKitPackage),
                .product(name: "ElectricityExample", package: streamKitPackage),
            ],
            path: "Benchmarks/ElectricityBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // The C references of the file benchmarks: the workload written as CSV and JSON Lines, and
        // the plain C loop (fgets, strtol, strtod and the same windowing) over the CSV.
        .target(name: "FileReference", path: "Benchmarks/FileReference"),
        // StreamKit's CSV and JSON Lines sources into the canonical window, each paired with the C
        // loop over the same file in the same iteration.
        .executableTarget(
            name: "FileBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                "FileReference",
                .product(name: "StreamKit", package: streamKitPackage),
            ],
            path: "Benchmarks/FileBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // The IoT example's whole graph, from mosquitto to the raw archive and the SQLite BI store.
        .executableTarget(
            name: "IoTBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                "MQTTBenchmarkSupport",
                .product(name: "StreamKit", package: streamKitPackage),
                .product(name: "StreamKitMQTT", package: streamKitPackage),
                .product(name: "IoTExample", package: streamKitPackage),
            ],
            path: "Benchmarks/IoTBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // A StreamKit pipeline fed by Kafka (librdkafka's mock cluster) against kcat reading the same
        // records in the same round.
        .executableTarget(
            name: "KafkaBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                "MQTTBenchmarkSupport",
                .product(name: "StreamKit", package: streamKitPackage),
                .product(name: "StreamKitKafka", package: streamKitPackage),
            ],
            path: "Benchmarks/KafkaBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
    ]
)
