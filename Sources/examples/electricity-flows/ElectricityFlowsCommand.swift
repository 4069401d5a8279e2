// electricity-flows: Mike's pipeline. Hourly Swiss cross-border electricity flows to daily, weekly
// and monthly totals with net import, peak days, runs and spikes, in batch over the CSV file or in
// real time from MQTT — one graph for both.
//
//   swift run electricity-flows generate flows.csv            # a file with the real file's traps
//   swift run electricity-flows batch flows.csv --out out/     # tables as CSV and JSON, HTML report
//   swift run electricity-flows live --broker 127.0.0.1:1883   # the same graph from MQTT
//   swift run electricity-flows replay flows.csv --broker 127.0.0.1:1883 --hour-every-ms 10
//   swift run electricity-flows live --kafka 127.0.0.1:9092    # …or from Kafka (one partition)
//   swift run electricity-flows replay flows.csv --kafka 127.0.0.1:9092

import ArgumentParser
import ElectricityExample
import ExampleCharts
import Foundation
import StreamKit
import StreamKitKafka
import StreamKitMQTT
import StreamKitPrometheus

@main
struct ElectricityFlowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electricity-flows",
        abstract: "Swiss cross-border electricity flows: daily, weekly and monthly totals, in batch or real time.",
        subcommands: [Generate.self, Batch.self, Live.self, Replay.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a flows file with the real file's traps.")
        @Argument(help: "The file to write.") var file: String
        @Option(help: "How many days, from 2021-01-01.") var days = 365
        func run() async throws {
            let lines = FlowFileGenerator(days: days).lines()
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            print("wrote \(lines.count - 1) rows to \(file)")
        }
    }

    struct Batch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the graph over a CSV file.")
        @Argument(help: "The CSV file (ogd107_strom_import_export.csv or a generated one).") var file: String
        @Option(help: "Where the tables go.") var out = "data/electricity"
        func run() async throws {
            StandardOutput.writeLineByLine()
            let tables = try ElectricityRunner.Tables(directory: out)
            // A progress bar only on a terminal: in a log it would be a line of redraws. Either
            // way the run ends with one summary line of what was read and how fast.
            let clock = ContinuousClock()
            let started = clock.now
            let lines = try await ElectricityRunner.batch(
                file: file,
                tables: tables,
                showsProgress: isatty(STDERR_FILENO) == 1
            )
            let seconds =
                Double((clock.now - started).components.attoseconds) / 1e18
                + Double((clock.now - started).components.seconds)
            let days = tables.days.sorted
            print("\(days.count) days, \(tables.weeks.sorted.count) weeks, \(tables.months.sorted.count) months")
            print(
                "read \(NumberFormat.grouped(Double(lines))) lines in \(NumberFormat.grouped(seconds, fractionDigits: 1)) s "
                    + "(\(NumberFormat.grouped(Double(lines) / max(seconds, 1e-3))) lines/s)"
            )
            let rejected = tables.rejected.elements
            print("rejected lines: \(rejected.count)" + (rejected.isEmpty ? "" : " (all in \(out)/rejected.csv)"))
            for record in rejected.prefix(5) {
                print("  line \(record.line ?? 0): \(record.reason) — \(record.rawText)")
            }
            let late = tables.late.elements
            print(
                "late hours: \(late.count)"
                    + (late.isEmpty ? "" : " (not in the totals of their period: \(out)/late.csv)")
            )
            for hour in late.prefix(5) { print("  \(hour.table): \(hour.row.time.iso8601)") }
            let incomplete = days.filter { $0.missingHours > 0 }
            print(
                "incomplete days: \(incomplete.count); "
                    + "corrected hours: \(NumberFormat.grouped(Double(days.map(\.replacedRows).reduce(0, +))))"
            )
            let spikes = tables.spikes.sorted
            print("spikes: \(spikes.count)")
            for spike in spikes.prefix(5) {
                print(
                    "  \(spike.localTime) \(spike.flowLabel): \(NumberFormat.grouped(spike.value)) MWh, "
                        + "baseline \(NumberFormat.grouped(spike.baseline)) MWh"
                )
            }
            if let all = tables.peaks.last {
                print(
                    "peak import day \(all.peakImportDay) (\(NumberFormat.grouped(all.peakImports)) MWh), "
                        + "peak export day \(all.peakExportDay) (\(NumberFormat.grouped(all.peakExports)) MWh)"
                )
            }
            print(
                "tables in \(out)/: days, weeks, months, spikes, runs, peaks (.csv, .json), rejected.csv, late.csv; "
                    + "report: \(out)/report.html"
            )
            if days.isEmpty {
                // Nothing valid was read: a run that produced no table must not look like success.
                FileHandle.standardError.write(
                    Data("error: no valid line in \(file) (\(rejected.count) rejected): nothing was computed\n".utf8)
                )
                throw ExitCode(1)
            }
        }
    }

    struct Live: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the graph on lines arriving over MQTT or Kafka.")
        @Option(help: "The MQTT broker as host:port.") var broker = "127.0.0.1:1883"
        @Option(help: "Kafka bootstrap servers: read from Kafka instead of MQTT.") var kafka: String?
        @Option(help: "The Kafka consumer group.") var group = "electricity-flows"
        @Option(help: "The topic the lines arrive on.") var topic = "electricity/flows"
        @Option(help: "Where the tables go.") var out = "data/electricity-live"
        @Option(help: "Serve /metrics, /health and /ready on this port of 127.0.0.1.") var metricsPort: Int?
        @Option(
            help: """
                The MQTT client id. Given, the broker keeps a persistent session under it (what is \
                published while this program is down is delivered when it comes back); by default \
                each process has a unique id and a clean session, so that two copies never knock \
                each other off the broker.
                """
        )
        var clientID: String?
        func run() async throws {
            StandardOutput.writeLineByLine()
            var server: Task<Void, any Error>?
            if let metricsPort {
                let exporter = PrometheusExporter.bootstrap()
                server = Task { try await exporter.run(port: metricsPort) }
                print("metrics on http://127.0.0.1:\(metricsPort)/metrics")
            }
            defer { server?.cancel() }
            let tables = try ElectricityRunner.Tables(directory: out)
            if let kafka {
                try await ElectricityRunner.live(
                    kafka: KafkaConfiguration(bootstrapServers: kafka),
                    topic: topic.replacingOccurrences(of: "/", with: "."),
                    groupID: group,
                    tables: tables
                )
                return
            }
            var mqtt = try Self.mqttConfiguration(
                broker,
                clientID: clientID ?? "electricity-flows-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            )
            mqtt.cleanSession = clientID == nil
            try await ElectricityRunner.live(mqtt: mqtt, topic: topic, tables: tables)
        }

        /// The MQTT configuration of `--broker`, or the error that says how to write it.
        static func mqttConfiguration(_ broker: String, clientID: String?) throws -> MQTTConfiguration {
            do {
                return try MQTTConfiguration(address: broker, clientID: clientID)
            } catch let error as BrokerAddressError {
                throw ValidationError(error.message)
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a CSV file's lines to MQTT or Kafka, paced.")
        @Argument(help: "The CSV file.") var file: String
        @Option(help: "The MQTT broker as host:port.") var broker = "127.0.0.1:1883"
        @Option(help: "Kafka bootstrap servers: produce to Kafka instead of MQTT.") var kafka: String?
        @Option(help: "The topic to publish to.") var topic = "electricity/flows"
        @Option(help: "Milliseconds between two hours of data (0: as fast as possible).") var hourEveryMs = 10
        func run() async throws {
            if let kafka {
                try await ElectricityRunner.replay(
                    file: file,
                    kafka: KafkaConfiguration(bootstrapServers: kafka),
                    topic: topic.replacingOccurrences(of: "/", with: "."),
                    hourEvery: .milliseconds(Int64(hourEveryMs))
                )
                return
            }
            let mqtt = try Live.mqttConfiguration(broker, clientID: nil)
            try await ElectricityRunner.replay(
                file: file,
                mqtt: mqtt,
                topic: topic,
                hourEvery: .milliseconds(Int64(hourEveryMs))
            )
        }
    }
}
