// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target: the upcoming features swift-log and swift-nio turn on.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "StreamKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StreamKit", targets: ["StreamKit"]),
        .library(name: "StreamKitMQTT", targets: ["StreamKitMQTT"]),
        .library(name: "StreamKitKafka", targets: ["StreamKitKafka"]),
        .library(name: "StreamKitPrometheus", targets: ["StreamKitPrometheus"]),
        .library(name: "StreamKitHTTP", targets: ["StreamKitHTTP"]),
        // The examples' libraries, exported so that the benchmark package measures them as they are.
        .library(name: "ElectricityExample", targets: ["ElectricityExample"]),
        .library(name: "IoTExample", targets: ["IoTExample"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        // The IoT example: its BI store, its HTTP API and its command line.
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.0.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // The HTTP ingest: SHA-256 of every raw body, for lineage.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
    ],
    targets: [
        // The core: graph, time, watermarks, windows, aggregates, keyed state, file I/O.
        .target(
            name: "StreamKit",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // Pipeline health for Prometheus: the metrics of every pipeline in the process on
        // GET /metrics, with /health and /ready, in one call.
        .target(
            name: "StreamKitPrometheus",
            dependencies: [
                "StreamKit",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),

        // HTTP ingest on Hummingbird: a raw store that syncs every posted body to disk before the
        // answer (group commit), and the source that replays it into a pipeline.
        .target(
            name: "StreamKitHTTP",
            dependencies: [
                "StreamKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // System libraries, found through pkg-config.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),

        // Connectors.
        .target(
            name: "StreamKitMQTT",
            dependencies: [
                "StreamKit", "CMosquitto",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamKitKafka",
            dependencies: ["StreamKit", "CRdKafka", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),

        // Examples.
        .executableTarget(
            name: "sensor-minutes",
            dependencies: ["StreamKit"],
            path: "Sources/examples/sensor-minutes",
            swiftSettings: swiftSettings
        ),

        // The examples' charts and number formats, shared by the IoT dashboard and the electricity
        // report: SVG drawn on the server, no script library and no network.
        .target(
            name: "ExampleCharts",
            dependencies: ["StreamKit"],
            path: "Sources/examples/ExampleCharts",
            swiftSettings: swiftSettings
        ),

        // The IoT challenge: MQTT readings to a raw archive, a SQLite BI store, minute means,
        // data quality, a catalogue and an HTTP API. The library holds the graph and its parts;
        // the executables are thin command lines over it.
        .target(
            name: "IoTExample",
            dependencies: [
                "StreamKit", "StreamKitMQTT", "StreamKitPrometheus", "ExampleCharts",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/examples/IoTExample",
            resources: [.copy("sensors.json")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iot-pipeline",
            dependencies: ["IoTExample", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/examples/iot-pipeline",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iot-generator",
            dependencies: ["IoTExample", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/examples/iot-generator",
            swiftSettings: swiftSettings
        ),

        // Mike's pipeline: hourly Swiss cross-border flows to daily, weekly and monthly totals, in
        // batch (a CSV file) and in real time (MQTT) with one graph.
        .target(
            name: "ElectricityExample",
            dependencies: ["StreamKit", "StreamKitMQTT", "StreamKitKafka", "ExampleCharts"],
            path: "Sources/examples/ElectricityExample",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "electricity-flows",
            dependencies: [
                "ElectricityExample", "ExampleCharts", "StreamKitKafka", "StreamKitMQTT", "StreamKitPrometheus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/examples/electricity-flows",
            swiftSettings: swiftSettings
        ),

        // The dropzone challenge: a REST ingest that stores raw JSON first, converts to UTC,
        // computes mean and standard deviation and upserts by UTC timestamp.
        .target(
            name: "DropzoneExample",
            dependencies: [
                "StreamKit", "StreamKitHTTP", "StreamKitPrometheus",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/examples/DropzoneExample",
            resources: [.copy("openapi.json")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dropzone",
            dependencies: ["DropzoneExample", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/examples/dropzone",
            swiftSettings: swiftSettings
        ),

        // Scale-out over Kafka: minute sums per key, shared by the copies of this program in one group.
        .executableTarget(
            name: "kafka-scale-out",
            dependencies: ["StreamKit", "StreamKitKafka"],
            path: "Sources/examples/kafka-scale-out",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "crash-recovery",
            dependencies: ["StreamKit"],
            path: "Sources/examples/crash-recovery",
            swiftSettings: swiftSettings
        ),

        // Tests.
        .testTarget(
            name: "StreamKitTests",
            dependencies: [
                "StreamKit",
                // Built for the crash test, which runs it in a process of its own.
                "crash-recovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreamKitMQTTTests",
            dependencies: ["StreamKitMQTT"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IoTExampleTests",
            dependencies: [
                "IoTExample", "StreamKitMQTT",
                // Built for the crash test, which kills and restarts it.
                "iot-pipeline",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ElectricityExampleTests",
            dependencies: [
                "ElectricityExample", "StreamKitMQTT", "StreamKitKafka",
                // Built for the command-line tests, which run it.
                "electricity-flows",
            ],
            swiftSettings: swiftSettings
        ),
        // The charts' arithmetic, and both examples' pages rendered in headless Chromium.
        .testTarget(
            name: "ExampleChartsTests",
            dependencies: [
                "ExampleCharts", "IoTExample", "ElectricityExample", "StreamKitMQTT",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreamKitPrometheusTests",
            dependencies: [
                "StreamKitPrometheus", "StreamKitMQTT",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreamKitHTTPTests",
            dependencies: [
                "StreamKitHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DropzoneExampleTests",
            dependencies: [
                "DropzoneExample",
                // Built for the crash test, which runs it in a process of its own.
                "dropzone",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreamKitKafkaTests",
            dependencies: [
                "StreamKitKafka", "StreamKitPrometheus",
                // Built for the scale-out test, which runs two of it.
                "kafka-scale-out",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
