// The code of the tutorial "Build your own operator" (Sources/StreamKit/StreamKit.docc/BuildYourOwnOperator.md).
// Every snippet the tutorial shows is copied from this file, and these tests prove what it says.

import Foundation
import StreamKit
import Synchronization
import Testing

// MARK: - Step 1: readings, and stateless operators

/// One reading of an IoT sensor, as the sensors publish it:
/// `{"id": "Sensor 1", "dt": "2024-01-01T13:45:12.123456", "value": 21}`.
struct IoTReading: Codable, Sendable, Hashable {
    /// The sensor's name: the key of everything per sensor.
    var id: String
    /// When the value was measured (event time). `Timestamp` decodes ISO 8601 text; without an
    /// offset it is read as UTC.
    var dt: Timestamp
    /// The measured value.
    var value: Double
}

/// The tutorial's readings are all on 1 January 2024: `jan1("13:45:10")`.
func jan1(_ time: String) -> Timestamp {
    try! Timestamp(iso8601: "2024-01-01T\(time)")
}

/// A reading of sensor `id` at `time` ("HH:MM:SS") on 1 January 2024.
func iot(_ id: String, _ time: String, _ value: Double) -> IoTReading {
    IoTReading(id: id, dt: jan1(time), value: value)
}

// MARK: - Step 3 and 4: what the detector emits

/// What the detector reports about a sensor.
enum SensorAlert: Sendable, Hashable {
    /// The sensor sent the same value several times in a row.
    case stuck(sensor: String, value: Double)
    /// The value changed by more than is plausible between two consecutive readings.
    case jump(sensor: String, from: Double, to: Double)
    /// No reading came for a while (event time) after `lastSeen`.
    case silent(sensor: String, lastSeen: Timestamp)

    /// The sensor the alert is about.
    var sensor: String {
        switch self {
        case .stuck(let sensor, _), .jump(let sensor, _, _), .silent(let sensor, _): sensor
        }
    }
}

// MARK: - Step 2: the wrong way to remember the previous value

/// The previous value in a variable that the operator's closure captures: one variable for the
/// whole stream, in memory only.
final class SharedLastValue: Sendable {
    private let last = Mutex<Double?>(nil)

    /// Stores `value` and returns the value stored before it.
    func swap(_ value: Double) -> Double? {
        last.withLock { last in
            defer { last = value }
            return last
        }
    }
}

// MARK: - Step 3: a keyed stateful operator

/// Flags a sensor stuck on one value (`stuckAfter` equal readings in a row) or jumping by more than
/// `maximumJump` between two consecutive readings. Its state is kept per sensor by StreamKit.
struct StuckOrJump: KeyedProcessFunction {
    var stuckAfter = 3
    var maximumJump = 10.0

    /// What the operator remembers about one sensor.
    struct State: Codable, Sendable {
        var lastValue: Double
        var repeats: Int
    }

    func process(_ reading: IoTReading, context: inout KeyedProcessContext<String, State, SensorAlert>) {
        guard let previous = context.state else {
            context.state = State(lastValue: reading.value, repeats: 1)
            return
        }
        if reading.value == previous.lastValue {
            let repeats = previous.repeats + 1
            if repeats == stuckAfter { context.emit(.stuck(sensor: context.key, value: reading.value)) }
            context.state = State(lastValue: reading.value, repeats: repeats)
        } else {
            if abs(reading.value - previous.lastValue) > maximumJump {
                context.emit(.jump(sensor: context.key, from: previous.lastValue, to: reading.value))
            }
            context.state = State(lastValue: reading.value, repeats: 1)
        }
    }
}

// MARK: - Step 4: an event-time timer

/// ``StuckOrJump`` plus a "silent" alert when a sensor sent nothing for `silentAfter` of event time.
struct SensorHealthDetector: KeyedProcessFunction {
    var stuckAfter = 3
    var maximumJump = 10.0
    var silentAfter: Duration = .seconds(60)

    /// What the detector remembers about one sensor; `lastSeen` also says where its timer is.
    struct State: Codable, Sendable {
        var lastValue: Double
        var repeats: Int
        var lastSeen: Timestamp
    }

    func process(_ reading: IoTReading, context: inout KeyedProcessContext<String, State, SensorAlert>) {
        var state = State(lastValue: reading.value, repeats: 1, lastSeen: context.timestamp)
        if let previous = context.state {
            // One timer per sensor: the reading moves it, so cancel the one the previous reading set.
            context.deleteTimer(at: previous.lastSeen + silentAfter)
            state.lastSeen = max(previous.lastSeen, context.timestamp)
            if reading.value == previous.lastValue {
                state.repeats = previous.repeats + 1
                if state.repeats == stuckAfter { context.emit(.stuck(sensor: context.key, value: reading.value)) }
            } else if abs(reading.value - previous.lastValue) > maximumJump {
                context.emit(.jump(sensor: context.key, from: previous.lastValue, to: reading.value))
            }
        }
        context.state = state
        context.setTimer(at: state.lastSeen + silentAfter)
    }

    func onTimer(at time: Timestamp, context: inout KeyedProcessContext<String, State, SensorAlert>) {
        guard let state = context.state else { return }
        context.emit(.silent(sensor: context.key, lastSeen: state.lastSeen))
    }
}

/// The wrong clock: a "silent" timer set on the wall clock (`.now`) in an operator whose timers
/// follow the watermark, which is event time.
struct WallClockSilence: KeyedProcessFunction {
    var silentAfter: Duration = .seconds(60)

    struct State: Codable, Sendable {
        var lastSeen: Timestamp
        var timer: Timestamp
    }

    func process(_ reading: IoTReading, context: inout KeyedProcessContext<String, State, SensorAlert>) {
        if let previous = context.state { context.deleteTimer(at: previous.timer) }
        let timer = Timestamp.now + silentAfter  // wrong: processing time
        context.state = State(lastSeen: context.timestamp, timer: timer)
        context.setTimer(at: timer)
    }

    func onTimer(at time: Timestamp, context: inout KeyedProcessContext<String, State, SensorAlert>) {
        guard let state = context.state else { return }
        context.emit(.silent(sensor: context.key, lastSeen: state.lastSeen))
    }
}

// MARK: - Step 5: checkpoints

/// Counts the readings a run has taken in, so that a test knows when to stop it.
final class ReadingsSeen: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add() { value.add(1, ordering: .relaxed) }
}

/// The detector's pipeline. Every stateful node has a stable name: a checkpoint stores state under
/// the operator's name, and the next run finds it again only by that name.
func sensorHealthPipeline(
    _ readings: AsyncStream<IoTReading>,
    alerts: CollectingSink<SensorAlert>,
    seen: ReadingsSeen
) -> Pipeline {
    let pipeline = Pipeline("sensor-health")
    pipeline.source(AsyncSequenceSource(readings), name: "readings")
        .map(name: "seen") { reading in
            seen.add()
            return reading
        }
        .eventTime({ $0.dt }, watermark: .boundedOutOfOrderness(.seconds(5)), name: "event-time")
        .key(name: "by-sensor", by: { $0.id })
        .process(SensorHealthDetector(), name: "sensor-health")
        .sink(alerts, name: "alerts")
    return pipeline
}

// MARK: - The tests

@Suite struct TutorialOperatorTests {
    @Test func step1DecodesFiltersAndKeepsWhatItRejects() async throws {
        let messages = [
            #"{"id": "Sensor 1", "dt": "2024-01-01T13:45:12.123456", "value": 21}"#,
            #"{"id": "Sensor 2", "dt": "2024-01-01T13:45:13", "value": -999}"#,
            #"{"id": "Sensor 1", "dt": "2024-01-01T13:45:14""#,
            #"{"id": "Sensor 1", "dt": "2024-01-01T13:45:15", "value": 22.5}"#,
        ]
        let pipeline = Pipeline("readings", configuration: PipelineConfiguration(workers: 1))
        let output = CollectingSink<String>()
        let rejected = CollectingSink<ErrorRecord>()

        let decoder = JSONDecoder()
        let readings = pipeline.source(messages, name: "messages")
            .tryMap(name: "decode") { line in try decoder.decode(IoTReading.self, from: Data(line.utf8)) }
        readings.errors.sink(rejected)
        readings
            .filter(name: "plausible") { $0.value > -50 && $0.value < 150 }  // -999: the sensor's error code
            .map(name: "format") { "\($0.id) at \($0.dt): \($0.value)" }
            .sink(output)
        try await pipeline.run()

        #expect(
            output.elements == [
                "Sensor 1 at 2024-01-01T13:45:12.123456Z: 21.0",
                "Sensor 1 at 2024-01-01T13:45:15.000000Z: 22.5",
            ]
        )
        #expect(rejected.elements.map(\.origin) == ["decode"])
        #expect(rejected.elements.map(\.rawText) == [#"{"id": "Sensor 1", "dt": "2024-01-01T13:45:14""#])
    }

    @Test func step2AVariableInAClosureMixesTheSensors() async throws {
        let interleaved = [
            iot("Sensor 1", "13:45:00", 21), iot("Sensor 2", "13:45:01", 40),
            iot("Sensor 1", "13:45:10", 21.5), iot("Sensor 2", "13:45:11", 40.5),
        ]
        let pipeline = Pipeline("naive", configuration: PipelineConfiguration(workers: 1))
        let alerts = CollectingSink<String>()

        let last = SharedLastValue()
        pipeline.source(interleaved)
            .compactMap(name: "naive-jump") { reading -> String? in
                guard let before = last.swap(reading.value), abs(reading.value - before) > 10 else { return nil }
                return "\(reading.id) jumped from \(before) to \(reading.value)"
            }
            .sink(alerts)
        try await pipeline.run()

        // Neither sensor jumped, yet every reading after the first is compared with the other sensor's.
        #expect(
            alerts.elements == [
                "Sensor 2 jumped from 21.0 to 40.0",
                "Sensor 1 jumped from 40.0 to 21.5",
                "Sensor 2 jumped from 21.5 to 40.5",
            ]
        )
    }

    @Test func step3KeyedStateComparesEachSensorWithItself() async throws {
        let readings = [
            iot("Sensor 1", "13:45:00", 21), iot("Sensor 2", "13:45:05", 18),
            iot("Sensor 1", "13:45:10", 21), iot("Sensor 2", "13:45:15", 19),
            iot("Sensor 1", "13:45:20", 21), iot("Sensor 2", "13:45:25", 18.5),
            iot("Sensor 1", "13:45:30", 21), iot("Sensor 2", "13:45:35", 40),
            iot("Sensor 1", "13:45:40", 35),
        ]
        let pipeline = Pipeline("stuck-or-jump", configuration: PipelineConfiguration(workers: 2))
        let alerts = CollectingSink<SensorAlert>()

        pipeline.source(readings)
            .eventTime({ $0.dt }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.id })
            .process(StuckOrJump(), name: "stuck-or-jump")
            .sink(alerts)
        try await pipeline.run()

        // Two workers: each sensor's alerts come in order; the two sensors' are interleaved in any order.
        #expect(
            alerts.elements.filter { $0.sensor == "Sensor 1" } == [
                .stuck(sensor: "Sensor 1", value: 21),  // the third 21 in a row; the fourth says nothing
                .jump(sensor: "Sensor 1", from: 21, to: 35),  // |35 - 21| = 14 > 10
            ]
        )
        #expect(alerts.elements.filter { $0.sensor == "Sensor 2" } == [.jump(sensor: "Sensor 2", from: 18.5, to: 40)])
    }

    @Test func step3KeyedStateDoesNotMixTheSensors() async throws {
        let interleaved = [
            iot("Sensor 1", "13:45:00", 21), iot("Sensor 2", "13:45:01", 40),
            iot("Sensor 1", "13:45:10", 21.5), iot("Sensor 2", "13:45:11", 40.5),
        ]
        let pipeline = Pipeline("keyed", configuration: PipelineConfiguration(workers: 1))
        let alerts = CollectingSink<SensorAlert>()
        pipeline.source(interleaved)
            .eventTime({ $0.dt }, watermark: .ascending())
            .key(by: { $0.id })
            .process(StuckOrJump())
            .sink(alerts)
        try await pipeline.run()
        #expect(alerts.elements.isEmpty)
    }

    /// Sensor 1 goes quiet from 13:45:10 to 13:48:00 while Sensor 2 reports every 30 s.
    static let gap = [
        iot("Sensor 1", "13:45:00", 20), iot("Sensor 2", "13:45:00", 18),
        iot("Sensor 1", "13:45:10", 20.5), iot("Sensor 2", "13:45:30", 18.5),
        iot("Sensor 2", "13:46:00", 19), iot("Sensor 2", "13:46:30", 18.5),
        iot("Sensor 2", "13:47:00", 18), iot("Sensor 2", "13:47:30", 18.5),
        iot("Sensor 1", "13:48:00", 21),
    ]

    @Test func step4AnEventTimeTimerReportsASilentSensor() async throws {
        let pipeline = Pipeline("silence", configuration: PipelineConfiguration(workers: 1))
        let alerts = CollectingSink<SensorAlert>()
        pipeline.source(Self.gap)
            .eventTime({ $0.dt }, watermark: .ascending())
            .key(by: { $0.id })
            .process(SensorHealthDetector(silentAfter: .seconds(60)))
            .sink(alerts)
        try await pipeline.run()

        #expect(
            alerts.elements == [
                // Sensor 2's reading at 13:47:00 carries the watermark 13:46:30, past 13:45:10 + 60 s.
                .silent(sensor: "Sensor 1", lastSeen: jan1("13:45:10")),
                // The end of the input is a watermark at +infinity: every timer still set fires.
                .silent(sensor: "Sensor 2", lastSeen: jan1("13:47:30")),
                .silent(sensor: "Sensor 1", lastSeen: jan1("13:48:00")),
            ]
        )
        #expect(alerts.timestamps == [jan1("13:46:10"), jan1("13:48:30"), jan1("13:49:00")])
    }

    @Test func step4ATimerOnTheWallClockMissesTheGap() async throws {
        let pipeline = Pipeline("wall-clock", configuration: PipelineConfiguration(workers: 1))
        let alerts = CollectingSink<SensorAlert>()
        pipeline.source(Self.gap)
            .eventTime({ $0.dt }, watermark: .ascending())
            .key(by: { $0.id })
            .process(WallClockSilence())
            .sink(alerts)
        try await pipeline.run()

        // The timers are set in today's time, years after the 2024 watermark: none fires while the
        // data flows, so Sensor 1's three minutes of silence go unreported. Only the end of the input
        // fires them, each stamped with a wall-clock time.
        #expect(
            Set(alerts.elements) == [
                .silent(sensor: "Sensor 1", lastSeen: jan1("13:48:00")),
                .silent(sensor: "Sensor 2", lastSeen: jan1("13:47:30")),
            ]
        )
        #expect(alerts.elements.count == 2)
        #expect(alerts.timestamps.allSatisfy { $0 > jan1("23:59:59") + .hours(24 * 365) })
    }

    @Test func step5TheDetectorsStateSurvivesARestart() async throws {
        let directory = TemporaryDirectory()
        let checkpoints = CheckpointConfiguration(directory: directory.path + "/state", interval: .seconds(3600))

        // First run: two equal readings of Sensor 1 and one of Sensor 2, then a graceful stop, which
        // takes a final checkpoint (the interval is an hour: this is the only one).
        let (firstReadings, firstInput) = AsyncStream<IoTReading>.makeStream()
        let firstAlerts = CollectingSink<SensorAlert>()
        let firstSeen = ReadingsSeen()
        let first = sensorHealthPipeline(firstReadings, alerts: firstAlerts, seen: firstSeen)
        let run = Task { try await first.run(checkpoints: checkpoints) }
        firstInput.yield(iot("Sensor 1", "13:45:00", 21))
        firstInput.yield(iot("Sensor 2", "13:45:05", 18))
        firstInput.yield(iot("Sensor 1", "13:45:10", 21))
        for _ in 0..<1000 where firstSeen.count < 3 { try await Task.sleep(for: .milliseconds(5)) }
        first.stop()
        try await run.value
        #expect(firstAlerts.elements.isEmpty)

        // Second run, in a new pipeline as after a restart of the process: a third 21 makes Sensor 1
        // stuck, and 18 → 35 is a jump for Sensor 2, because both remember the first run's readings.
        let (secondReadings, secondInput) = AsyncStream<IoTReading>.makeStream()
        let secondAlerts = CollectingSink<SensorAlert>()
        secondInput.yield(iot("Sensor 1", "13:45:20", 21))
        secondInput.yield(iot("Sensor 2", "13:45:15", 35))
        secondInput.finish()
        try await sensorHealthPipeline(secondReadings, alerts: secondAlerts, seen: ReadingsSeen())
            .run(checkpoints: checkpoints)
        #expect(
            Set(secondAlerts.elements) == [
                .stuck(sensor: "Sensor 1", value: 21),
                .jump(sensor: "Sensor 2", from: 18, to: 35),
                .silent(sensor: "Sensor 1", lastSeen: jan1("13:45:20")),
                .silent(sensor: "Sensor 2", lastSeen: jan1("13:45:15")),
            ]
        )
        #expect(secondAlerts.elements.count == 4)

        // The same readings without the checkpoint: nothing to compare with, so no stuck and no jump.
        let (freshReadings, freshInput) = AsyncStream<IoTReading>.makeStream()
        let freshAlerts = CollectingSink<SensorAlert>()
        freshInput.yield(iot("Sensor 1", "13:45:20", 21))
        freshInput.yield(iot("Sensor 2", "13:45:15", 35))
        freshInput.finish()
        var fresh = checkpoints
        fresh.fresh = true
        try await sensorHealthPipeline(freshReadings, alerts: freshAlerts, seen: ReadingsSeen())
            .run(checkpoints: fresh)
        #expect(
            Set(freshAlerts.elements) == [
                .silent(sensor: "Sensor 1", lastSeen: jan1("13:45:20")),
                .silent(sensor: "Sensor 2", lastSeen: jan1("13:45:15")),
            ]
        )
    }
}

/// The first pipeline of GettingStarted.md prints the row the article says.
@Suite struct TutorialOperatorGettingStartedTests {
    @Test func theFirstPipelinesRowReadsAsTheArticleSays() async throws {
        struct Reading: Sendable { var sensor: String; var time: Timestamp; var value: Double }
        let readings = [
            Reading(sensor: "Sensor 1", time: try Timestamp(iso8601: "2024-01-01T13:45:12"), value: 21),
            Reading(sensor: "Sensor 1", time: try Timestamp(iso8601: "2024-01-01T13:45:42"), value: 23),
        ]
        let rows = CollectingSink<WindowResult<String, (Int, Double)>>()
        let pipeline = Pipeline("minute-means")
        pipeline.source(readings)
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
            .key(by: { $0.sensor })
            .window(.tumbling(.minutes(1)))
            .aggregate(Count(), Mean { $0.value })
            .sink(rows)
        try await pipeline.run()
        #expect(
            rows.elements.map { "\($0)" } == [
                "Sensor 1 [2024-01-01T13:45:00.000000Z, 2024-01-01T13:46:00.000000Z): (2, 22.0)"
            ]
        )
    }
}
