import ExampleCharts
import Foundation
import GRDB
import StreamKit
import StreamKitMQTT
import Synchronization

/// The settings of the IoT pipeline.
public struct IoTPipelineOptions: Sendable {
    /// The broker and the pipeline's MQTT identity (a persistent session, so that the broker keeps
    /// readings while the pipeline restarts).
    public var mqtt: MQTTConfiguration
    /// The topic the sensors publish to.
    public var topic: String = "sensors"
    /// Where the raw archive, the catalogue, the BI store and the checkpoints go.
    public var dataDirectory: String
    /// The sensors, their metadata and valid ranges.
    public var catalog: SensorCatalog
    /// How often each sensor is expected to send a reading; the base of completeness.
    public var expectedInterval: Duration = .seconds(1)
    /// How far out of order readings may arrive before they count as late.
    public var watermarkBound: Duration = .seconds(5)
    /// Whether each minute's means are printed as its window closes.
    public var printsMinutes: Bool = true
    /// The size at which a raw archive file is closed (and compressed) before its hour ends.
    public var archiveFileSize: Int = 64 << 20

    /// Creates the settings.
    public init(mqtt: MQTTConfiguration, dataDirectory: String, catalog: SensorCatalog) {
        self.mqtt = mqtt
        self.dataDirectory = dataDirectory
        self.catalog = catalog
    }

    /// The raw archive's root: `raw/date=YYYY-MM-DD/hour=HH/part-NNNNN.jsonl.gz`.
    public var rawDirectory: String { "\(dataDirectory)/raw" }
    /// The BI store's database file.
    public var databasePath: String { "\(dataDirectory)/bi.sqlite" }
    /// The checkpoints of the pipeline.
    public var checkpointDirectory: String { "\(dataDirectory)/checkpoints" }
    /// The MQTT source's journal: every message, written before the broker's acknowledgement.
    public var journalDirectory: String { "\(dataDirectory)/journal" }
    /// The sensor catalogue, stored beside the raw archive.
    public var catalogPath: String { "\(dataDirectory)/catalog/sensors.json" }
    /// Readings expected per sensor per minute.
    public var expectedPerMinute: Int {
        let seconds =
            Double(expectedInterval.components.seconds) + Double(expectedInterval.components.attoseconds) / 1e18
        return Swift.max(1, Int((60.0 / seconds).rounded()))
    }
}

/// The IoT challenge as one StreamKit graph:
///
/// ```
/// MQTT "sensors" ─┬▶ raw archive (JSONL.gz, Hive folders by arrival hour)
///   (journal)     └▶ decode ─┬▶ readings (SQLite)
///                    │       └▶ event time (5 s bound) ▶ key by sensor ▶ deduplicate ▶ 1-minute windows
///                    │              ├▶ count, mean, min, max, stddev, out-of-range ▶ minute_means, quality (+ print)
///                    │              └▶ late readings ▶ late_readings, quality.late
///                    └▶ malformed ▶ malformed, quality.malformed
/// ```
public enum IoTPipeline {
    /// Builds the graph over `store`; the returned pipeline runs with ``IoTRunner`` or on its own.
    public static func build(options: IoTPipelineOptions, store: BIStore, source: MQTTSource) -> Pipeline {
        let pipeline = Pipeline("iot-pipeline")
        let catalog = options.catalog
        let expected = options.expectedPerMinute

        let messages = pipeline.source(source, name: "mqtt")
        var archive = RollingFileSink<MQTTMessage>(
            directory: options.rawDirectory,
            partitioning: .hourly,
            maximumFileSize: options.archiveFileSize
        ) { message in
            // The message as received; a newline inside a payload would split the line.
            message.payload.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }
        }
        archive.completion = .gzip()
        messages.sink(archive, name: "raw-archive")

        // StreamKit's decoder for small flat JSON objects: several times faster than JSONDecoder.
        let decoder = FlatJSONDecoder()
        let readings = messages.tryMap(name: "decode") { message in
            try decoder.decode(SensorReading.self, from: message.payload)
        }
        readings.errors.sink(store.sink(Self.writeMalformed), name: "malformed")
        let newest = NewestEventTime()
        readings.sink(store.sink(Self.writeReadings(newest: newest)), name: "readings")

        // A reading is one sensor's value at one instant: a copy (a sensor that repeats itself, a
        // broker's redelivery after a reconnection) counts once in the minutes and the quality.
        let minutes =
            readings
            .eventTime({ $0.dt }, watermark: .boundedOutOfOrderness(options.watermarkBound), name: "event-time")
            .key(by: { $0.id })
            .deduplicate(by: { $0.dt }, within: options.watermarkBound + .minutes(2), name: "deduplicate")
            .window(.tumbling(.minutes(1)), name: "minute-window")
        minutes.late.sink(store.sink(Self.writeLate(expected: expected, newest: newest)), name: "late-readings")

        let results = minutes.aggregate(
            Count<SensorReading>(),
            Mean { (reading: SensorReading) in reading.value },
            AggregationPair(
                Min { (reading: SensorReading) in reading.value },
                Max { (reading: SensorReading) in reading.value }
            ),
            StandardDeviation { (reading: SensorReading) in reading.value },
            Sum { (reading: SensorReading) in
                catalog.sensors[reading.id]?.validRange?.contains(reading.value) == false ? 1 : 0
            }
        )
        .map { MinuteResult($0) }
        results.sink(store.sink(Self.writeMinutes(expected: expected)), name: "minute-means")
        if options.printsMinutes {
            results.sink(PrintSink { $0.line }, name: "print-minutes")
        }
        return pipeline
    }

    // MARK: Writers of the BI store

    static func writeReadings(
        newest: NewestEventTime
    ) -> @Sendable (Database, Batch<SensorReading>) throws -> Void {
        { db, batch in try writeReadings(db, batch, newest: newest) }
    }

    static func writeReadings(_ db: Database, _ batch: Batch<SensorReading>, newest: NewestEventTime) throws {
        let now = Timestamp.now.iso8601
        if let latest = batch.elements.lazy.map(\.dt).max() { newest.advance(to: latest) }
        let statement = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO readings (sensor, dt, value, received_at) VALUES (?, ?, ?, ?)"
        )
        for reading in batch.elements {
            try statement.execute(arguments: [reading.id, reading.dt.iso8601, reading.value, now])
        }
    }

    static func writeMinutes(expected: Int) -> @Sendable (Database, Batch<MinuteResult>) throws -> Void {
        { db, batch in
            let now = Timestamp.now.iso8601
            for result in batch.elements {
                try db.execute(
                    sql: """
                        INSERT INTO minute_means (sensor, minute, count, mean, min, max, stddev, written_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (sensor, minute) DO UPDATE SET count = excluded.count, mean = excluded.mean,
                            min = excluded.min, max = excluded.max, stddev = excluded.stddev,
                            written_at = excluded.written_at
                        """,
                    arguments: [
                        result.sensor, result.minute.iso8601, result.count, result.mean, result.min, result.max,
                        result.standardDeviation, now,
                    ]
                )
                try db.execute(
                    sql: """
                        INSERT INTO quality (sensor, minute, expected, count, out_of_range) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (sensor, minute) DO UPDATE SET count = excluded.count,
                            out_of_range = excluded.out_of_range
                        """,
                    arguments: [result.sensor, result.minute.iso8601, expected, result.count, result.outOfRange]
                )
            }
        }
    }

    static func writeLate(
        expected: Int,
        newest: NewestEventTime
    ) -> @Sendable (Database, Batch<SensorReading>) throws -> Void {
        { db, batch in
            let now = Timestamp.now.iso8601
            for reading in batch.elements {
                let minute = reading.dt.minuteStart
                // How far behind the newest reading stored so far it arrived.
                let reference = newest.value
                let lateness =
                    reference == .min
                    ? 0 : Swift.max(0, Double(reference.microseconds &- reading.dt.microseconds) / 1e6)
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO late_readings (sensor, dt, value, minute, lateness_seconds, received_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [reading.id, reading.dt.iso8601, reading.value, minute.iso8601, lateness, now]
                )
                // Counted once, even when a restart delivers the reading again.
                if db.changesCount > 0 {
                    try bumpQuality(db, sensor: reading.id, minute: minute, column: "late", expected: expected)
                }
            }
        }
    }

    static func writeMalformed(_ db: Database, _ batch: Batch<ErrorRecord>) throws {
        for record in batch.elements {
            let sensor = Self.field("id", in: record.rawText)
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO malformed (topic, received_at, reason, payload, sensor)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [record.location ?? "", record.time.iso8601, record.reason, record.rawText, sensor]
            )
            // Counted once, even when the broker or a replay from the journal delivers it again.
            if db.changesCount > 0, let sensor, let dt = Self.field("dt", in: record.rawText),
                let time = try? Timestamp(iso8601: dt)
            {
                try bumpQuality(db, sensor: sensor, minute: time.minuteStart, column: "malformed", expected: 60)
            }
        }
    }

    static func bumpQuality(_ db: Database, sensor: String, minute: Timestamp, column: String, expected: Int) throws {
        try db.execute(
            sql: """
                INSERT INTO quality (sensor, minute, expected, \(column)) VALUES (?, ?, ?, 1)
                ON CONFLICT (sensor, minute) DO UPDATE SET \(column) = \(column) + 1
                """,
            arguments: [sensor, minute.iso8601, expected]
        )
    }

    /// The string value of `key` in a payload that may not be valid JSON, such as the sensor id of
    /// a message whose value is malformed.
    static func field(_ key: String, in text: String) -> String? {
        guard let keyRange = text.range(of: "\"\(key)\"") else { return nil }
        let rest = text[keyRange.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "\"" else { return nil }
        let value = rest.dropFirst().prefix { $0 != "\"" }
        return value.endIndex < rest.endIndex ? String(value) : nil
    }
}

/// The newest event time the readings sink has stored, the reference of a late reading's lateness.
final class NewestEventTime: Sendable {
    private let time = Mutex(Timestamp.min)

    var value: Timestamp { time.withLock { $0 } }

    func advance(to candidate: Timestamp) {
        time.withLock { $0 = Swift.max($0, candidate) }
    }
}

/// One sensor's minute, as the window reports it.
public struct MinuteResult: Sendable, Hashable {
    /// The sensor.
    public var sensor: String
    /// The start of the minute.
    public var minute: Timestamp
    /// How many readings fell in the minute.
    public var count: Int
    /// Their mean, lowest and highest value and standard deviation.
    public var mean: Double, min: Double, max: Double, standardDeviation: Double
    /// How many readings were outside the catalogue's range for the sensor.
    public var outOfRange: Int

    init(_ result: WindowResult<String, (Int, Double, (Double, Double), Double, Int)>) {
        sensor = result.key
        minute = result.window.start
        count = result.value.0
        mean = result.value.1
        min = result.value.2.0
        max = result.value.2.1
        standardDeviation = result.value.3
        outOfRange = result.value.4
    }

    /// One printed line: `13:45 Sensor 1: n=60 mean=21.52 min=3 max=44 sd=12.1 out-of-range=0`.
    /// Values are written for people: separators in large numbers, and scientific notation for
    /// magnitudes that would otherwise print as hundreds of digits (`mean=1.67e+299`).
    public var line: String {
        let time = minute.iso8601.dropFirst(11).prefix(5)
        return "\(time) \(sensor): n=\(count) mean=\(NumberFormat.human(mean)) min=\(NumberFormat.human(min)) "
            + "max=\(NumberFormat.human(max)) sd=\(NumberFormat.human(standardDeviation)) out-of-range=\(outOfRange)"
    }
}

extension Timestamp {
    /// The start of the minute this instant falls in.
    var minuteStart: Timestamp {
        let minute: Int64 = 60_000_000
        let floored = microseconds >= 0 ? microseconds / minute : (microseconds - minute + 1) / minute
        return Timestamp(microseconds: floored * minute)
    }
}
