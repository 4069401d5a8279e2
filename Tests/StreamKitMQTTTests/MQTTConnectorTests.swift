import Foundation
import StreamKit
import StreamKitMQTT
import Testing

/// The MQTT source and sink against a real mosquitto broker, checked with mosquitto's own clients.
@Suite(.serialized) struct MQTTConnectorTests {
    /// A reading as the IoT sensors publish it.
    struct SensorReading: Codable, Sendable, Hashable {
        var id: String
        var dt: String
        var value: Int
    }

    func configuration(_ broker: MosquittoBroker, clientID: String? = nil) -> MQTTConfiguration {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: clientID)
        configuration.reconnect = MQTTReconnectPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
        return configuration
    }

    /// Runs `pipeline` in the background; the returned task ends when the pipeline does.
    func start(_ pipeline: Pipeline) -> Task<Void, any Error> {
        Task { try await pipeline.run() }
    }

    @Test func roundTripWithMosquittoPubAndMosquittoSub() async throws {
        let broker = try MosquittoBroker()
        // A persistent session for the foreign subscriber, made before anything is published, so
        // that it gets every message however late it connects to read them.
        try MosquittoBroker.run(
            "/usr/bin/mosquitto_sub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-i", "checker", "-c", "-q", "1", "-t", "out/#", "-E"]
        )

        let pipeline = Pipeline("round-trip", configuration: PipelineConfiguration(workers: 1))
        let source = MQTTSource(configuration(broker), topics: ["in"], qos: .atLeastOnce)
        let received = CollectingSink<MQTTMessage>()
        let messages = pipeline.source(source)
        messages.sink(received)
        messages.map { $0.text.uppercased() }
            .sink(
                MQTTSink(configuration(broker), qos: .atLeastOnce, encode: { Array($0.utf8) }) {
                    "out/\($0.lowercased())"
                }
            )
        let run = start(pipeline)
        try await eventually { source.statistics.current.isSubscribed }

        for word in ["alpha", "beta", "gamma"] { try broker.publish(["-q", "1", "-t", "in", "-m", word]) }
        try await eventually { received.elements.count == 3 }
        pipeline.stop()
        try await run.value

        #expect(received.elements.map(\.text) == ["alpha", "beta", "gamma"])
        #expect(received.elements.allSatisfy { $0.topic == "in" && $0.qos == .atLeastOnce })
        let output = try MosquittoBroker.run(
            "/usr/bin/mosquitto_sub",
            [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "-i", "checker", "-c", "-q", "1", "-t", "out/#", "-C", "3",
                "-W", "30", "-v",
            ]
        )
        #expect(output.split(separator: "\n") == ["out/alpha ALPHA", "out/beta BETA", "out/gamma GAMMA"])
    }

    @Test func wildcardSubscriptionsReceiveOnlyMatchingTopics() async throws {
        let broker = try MosquittoBroker()
        let pipeline = Pipeline("wildcards", configuration: PipelineConfiguration(workers: 1))
        let source = MQTTSource(configuration(broker), topics: ["sensors/+/temperature", "alerts/#"])
        let received = CollectingSink<MQTTMessage>()
        pipeline.source(source).sink(received)
        let run = start(pipeline)
        try await eventually { source.statistics.current.isSubscribed }

        let topics = [
            "sensors/a/temperature", "sensors/a/humidity", "sensors/b/temperature", "sensors/b/c/temperature",
            "alerts", "alerts/x/y", "other", "alerts/end",
        ]
        for topic in topics { try broker.publish(["-q", "1", "-t", topic, "-m", topic]) }
        try await eventually { received.elements.contains { $0.topic == "alerts/end" } }
        pipeline.stop()
        try await run.value

        #expect(
            Set(received.elements.map(\.topic))
                == ["sensors/a/temperature", "sensors/b/temperature", "alerts", "alerts/x/y", "alerts/end"]
        )
        #expect(received.elements.allSatisfy { $0.text == $0.topic })
    }

    @Test func qos1DeliversEveryMessageThroughASmallBuffer() async throws {
        let broker = try MosquittoBroker()
        let pipeline = Pipeline("qos1", configuration: PipelineConfiguration(workers: 1, batchSize: 64))
        // A buffer far smaller than the burst: the network thread has to wait for the pipeline.
        let source = MQTTSource(configuration(broker), topics: ["sensors"], qos: .atLeastOnce, bufferCapacity: 16)
        let received = CollectingSink<String>()
        pipeline.source(source).map(\.text).sink(received)
        let run = start(pipeline)
        try await eventually { source.statistics.current.isSubscribed }

        let count = 5000
        let lines = (0..<count).map(String.init).joined(separator: "\n") + "\n"
        try broker.publish(["-q", "1", "-t", "sensors", "-l"], input: lines)
        try await eventually(timeout: 60) { received.elements.count >= count }
        pipeline.stop()
        try await run.value

        #expect(received.elements.count == count)
        #expect(Set(received.elements) == Set((0..<count).map(String.init)))
        #expect(source.statistics.current.dropped == 0)
    }

    @Test func reconnectsAndResubscribesAfterTheBrokerIsKilled() async throws {
        let broker = try MosquittoBroker(persistence: false)
        let pipeline = Pipeline("broker-restart", configuration: PipelineConfiguration(workers: 1))
        var mqtt = configuration(broker, clientID: "restart-survivor")
        mqtt.cleanSession = false
        let source = MQTTSource(mqtt, topics: ["sensors"], qos: .atLeastOnce)
        let received = CollectingSink<String>()
        pipeline.source(source).map(\.text).sink(received)
        let run = start(pipeline)
        try await eventually { source.statistics.current.isSubscribed }

        try broker.publish(
            ["-q", "1", "-t", "sensors", "-l"],
            input: (0..<100).map(String.init).joined(separator: "\n")
        )
        try await eventually { received.elements.count >= 100 }

        // SIGKILL: the broker loses every session; the source must subscribe again on its own.
        broker.kill()
        try await eventually { !source.statistics.current.isConnected }
        try broker.start()
        try await eventually(timeout: 30) { source.statistics.current.isSubscribed }

        try broker.publish(
            ["-q", "1", "-t", "sensors", "-l"],
            input: (100..<200).map(String.init).joined(separator: "\n")
        )
        try await eventually { received.elements.count >= 200 }
        pipeline.stop()
        try await run.value

        #expect(Set(received.elements) == Set((0..<200).map(String.init)))
        let statistics = source.statistics.current
        #expect(statistics.connects == 2)
        #expect(statistics.disconnects >= 1)
    }

    @Test func persistentSessionKeepsWhatIsPublishedWhileThePipelineIsAway() async throws {
        let broker = try MosquittoBroker(persistence: true)
        var mqtt = configuration(broker, clientID: "iot-archive")
        mqtt.cleanSession = false

        // First run: subscribe, receive, stop.
        let first = Pipeline("first-run", configuration: PipelineConfiguration(workers: 1))
        let firstSource = MQTTSource(mqtt, topics: ["sensors"], qos: .atLeastOnce)
        let firstReceived = CollectingSink<String>()
        first.source(firstSource).map(\.text).sink(firstReceived)
        let firstRun = start(first)
        try await eventually { firstSource.statistics.current.isSubscribed }
        try broker.publish(
            ["-q", "1", "-t", "sensors", "-l"],
            input: (0..<50).map(String.init).joined(separator: "\n")
        )
        try await eventually { firstReceived.elements.count >= 50 }
        first.stop()
        try await firstRun.value
        try await eventually { !firstSource.statistics.current.isConnected }

        // While the pipeline is away: messages arrive, and the broker restarts (it saves its
        // sessions and queued messages on a clean shutdown).
        try broker.publish(
            ["-q", "1", "-t", "sensors", "-l"],
            input: (50..<100).map(String.init).joined(separator: "\n")
        )
        broker.kill(signal: SIGTERM)
        try broker.start()
        try broker.publish(
            ["-q", "1", "-t", "sensors", "-l"],
            input: (100..<150).map(String.init).joined(separator: "\n")
        )

        // Second run, same client id: the broker delivers what it kept.
        let second = Pipeline("second-run", configuration: PipelineConfiguration(workers: 1))
        let secondSource = MQTTSource(mqtt, topics: ["sensors"], qos: .atLeastOnce)
        let secondReceived = CollectingSink<String>()
        second.source(secondSource).map(\.text).sink(secondReceived)
        let secondRun = start(second)
        try await eventually { Set(secondReceived.elements).count >= 100 }
        second.stop()
        try await secondRun.value

        #expect(Set(firstReceived.elements) == Set((0..<50).map(String.init)))
        #expect(Set(secondReceived.elements) == Set((50..<150).map(String.init)))
    }

    @Test(arguments: ["JSONDecoder", "FlatJSONDecoder"])
    func malformedPayloadsReachTheErrorOutputWithTopicReasonAndBytes(decoder: String) async throws {
        let broker = try MosquittoBroker()
        let pipeline = Pipeline("decode", configuration: PipelineConfiguration(workers: 1))
        let messages = MQTTSource(configuration(broker), topics: ["sensors/#"])
        let source =
            decoder == "JSONDecoder"
            ? messages.decoding(SensorReading.self)
            : messages.decoding(SensorReading.self, decoder: FlatJSONDecoder())
        let readings = CollectingSink<SensorReading>()
        let errors = CollectingSink<ErrorRecord>()
        let stream = pipeline.source(source, name: "mqtt")
        stream.sink(readings)
        stream.errors.sink(errors)
        let run = start(pipeline)
        try await eventually { source.statistics.current.isSubscribed }

        let payloads = [
            #"{"id":"Sensor 1","dt":"2024-01-01T13:45:12.123456","value":42}"#,
            "not json",
            #"{"id":"Sensor 2","value":7}"#,
            #"{"id":"Sensor 3","dt":"2024-01-01T13:45:13.000000","value":"high"}"#,
            #"{"id":"Sensor 4","dt":"2024-01-01T13:45:14.000000","value":3}"#,
        ]
        for (index, payload) in payloads.enumerated() {
            try broker.publish(["-q", "1", "-t", "sensors/\(index)", "-m", payload])
        }
        try await eventually { readings.elements.count + errors.elements.count == payloads.count }
        pipeline.stop()
        try await run.value

        #expect(readings.elements.map(\.id) == ["Sensor 1", "Sensor 4"])
        let rejected = errors.elements
        #expect(rejected.map(\.location) == ["sensors/1", "sensors/2", "sensors/3"])
        #expect(rejected.map(\.rawText) == [payloads[1], payloads[2], payloads[3]])
        #expect(rejected.allSatisfy { $0.origin == "mqtt" })
        #expect(rejected[1].reason.contains("missing field 'dt'"))
        #expect(rejected[2].reason.contains("value"))
    }

    @Test func wrongCredentialsFailStartUpWithAClearError() async throws {
        let broker = try MosquittoBroker(passwords: ["pipeline": "correct horse"])
        var mqtt = configuration(broker)
        mqtt.username = "pipeline"
        mqtt.password = "wrong"
        let pipeline = Pipeline("credentials", configuration: PipelineConfiguration(workers: 1))
        pipeline.source(MQTTSource(mqtt, topics: ["sensors"])).sink(CollectingSink())
        let error = await #expect(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error?.code == .connectionFailed)
        // mosquitto refuses a wrong password with "not authorised" (MQTT 5 reason 135).
        #expect(error?.message.contains("not authorise") == true)
        #expect(error?.message.contains("check username and password") == true)

        mqtt.password = "correct horse"
        let accepted = Pipeline("credentials-ok", configuration: PipelineConfiguration(workers: 1))
        let source = MQTTSource(mqtt, topics: ["sensors"])
        accepted.source(source).sink(CollectingSink())
        let run = start(accepted)
        try await eventually { source.statistics.current.isSubscribed }
        accepted.stop()
        try await run.value
    }

    @Test func anUnreachableBrokerFailsStartUpAfterTheConnectTimeout() async throws {
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: try MosquittoBroker.freePort())
        mqtt.connectTimeout = .milliseconds(500)
        let pipeline = Pipeline("unreachable", configuration: PipelineConfiguration(workers: 1))
        pipeline.source(MQTTSource(mqtt, topics: ["sensors"])).sink(CollectingSink())
        let error = await #expect(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("connection refused") == true)
        #expect(error?.message.contains("connectTimeout") == true)
    }

    @Test func invalidTopicFiltersAndSettingsFailBeforeConnecting() async throws {
        let pipeline = Pipeline("bad-filter", configuration: PipelineConfiguration(workers: 1))
        pipeline.source(MQTTSource(topics: ["sensors/#/temperature"])).sink(CollectingSink())
        let error = await #expect(throws: StreamKitError.self) { try await pipeline.run() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("'sensors/#/temperature'") == true)

        var mqtt = MQTTConfiguration(port: 0)
        mqtt.keepAlive = .seconds(1)
        mqtt.tls = MQTTTLSConfiguration(caFile: "/nonexistent/ca.pem")
        let settings = Pipeline("bad-settings", configuration: PipelineConfiguration(workers: 1))
        settings.source(MQTTSource(mqtt, topics: ["sensors"])).sink(CollectingSink())
        let settingsError = await #expect(throws: StreamKitError.self) { try await settings.run() }
        let message = settingsError?.message ?? ""
        #expect(message.contains("port is 0"))
        #expect(message.contains("keepAlive"))
        #expect(message.contains("/nonexistent/ca.pem"))
    }

    @Test func sinkFinishesOnlyWhenTheBrokerAcknowledgedEverything() async throws {
        let broker = try MosquittoBroker()
        try MosquittoBroker.run(
            "/usr/bin/mosquitto_sub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-i", "counter", "-c", "-q", "1", "-t", "numbers", "-E"]
        )
        let pipeline = Pipeline("publish", configuration: PipelineConfiguration(workers: 1))
        let sink = MQTTSink<Int>(configuration(broker), topic: "numbers", qos: .atLeastOnce, maximumInFlight: 50) {
            Array(String($0).utf8)
        }
        pipeline.source(Array(0..<2000)).sink(sink)
        try await pipeline.run()
        #expect(sink.statistics.current.messages == 2000)

        let output = try MosquittoBroker.run(
            "/usr/bin/mosquitto_sub",
            [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "-i", "counter", "-c", "-q", "1", "-t", "numbers", "-C",
                "2000", "-W", "30",
            ]
        )
        #expect(output.split(separator: "\n").map { Int($0)! } == Array(0..<2000))
    }

    /// The error of ``aSinkWaitingForAFrozenBrokerDoesNotKeepAFailedPipelineRunning()``.
    struct Failure: Error {}

    @Test(.timeLimit(.minutes(1)))
    func aSinkWaitingForAFrozenBrokerDoesNotKeepAFailedPipelineRunning() async throws {
        let broker = try MosquittoBroker()
        defer { broker.send(signal: SIGCONT) }
        let (numbers, input) = AsyncStream<Int>.makeStream()
        let (nothing, noInput) = AsyncStream<Int>.makeStream()
        defer {
            input.finish()
            noInput.finish()
        }
        let pipeline = Pipeline("frozen-broker", configuration: PipelineConfiguration(workers: 1))
        let source = pipeline.source(AsyncSequenceSource(numbers), name: "numbers")
        // Wired first, so that the merge's stage gets each batch before the MQTT sink does.
        source.merge(with: pipeline.source(AsyncSequenceSource(nothing), name: "nothing"))
            .forEach(name: "fails") { number in
                if number == 99 { throw Failure() }
            }
        let sink = MQTTSink<Int>(configuration(broker), topic: "numbers", qos: .atLeastOnce, maximumInFlight: 1) {
            Array(String($0).utf8)
        }
        source.sink(sink, name: "mqtt")
        let run = start(pipeline)
        input.yield(1)
        try await eventually { sink.statistics.current.messages == 1 && sink.statistics.current.inFlight == 0 }

        // The broker stops answering: the sink waits for the acknowledgement of 99 while the other
        // stage fails on it; the run must end with that failure, not wait for the broker.
        broker.send(signal: SIGSTOP)
        input.yield(99)
        let error = await #expect(throws: StreamKitError.self) { try await run.value }
        #expect(error?.message.contains("sink 'fails' failed") == true)
    }
}

/// Waits until `condition` holds, checking every 20 ms; fails the test after `timeout` seconds.
func eventually(
    timeout: Double = 20,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while try !condition() {
        guard Date() < deadline else {
            Issue.record("condition not met within \(timeout) s", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
