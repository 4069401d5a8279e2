import Foundation
import StreamKit
import Synchronization

/// A sink that produces each element to a Kafka topic, with the idempotent producer.
///
/// Key, value and headers come from the element. Every delivery report is checked: a checkpoint
/// completes only when every record written before it is acknowledged by the brokers (at-least-once
/// output across a crash; the idempotent producer removes the duplicates of its own retries), and a
/// record that cannot be delivered fails the next write or checkpoint with librdkafka's reason —
/// an error the pipeline's caller sees, not a log line. When librdkafka's queue is full, writing
/// waits for deliveries.
///
/// Writing does not wait for the brokers: each record goes to librdkafka's queue, which batches
/// records into produce requests in its own threads (`linger.ms`, `batch.size`); delivery reports
/// are served once per written batch, and a checkpoint (or the end of the input) sends what is held
/// back at once and waits for every acknowledgement.
///
/// Exactly-once output through Kafka transactions is not built yet.
///
/// ```swift
/// alerts.sink(KafkaSink(kafka, topic: "alerts", key: { Array($0.sensor.utf8) }))
/// ```
public struct KafkaSink<Element: Sendable>: Sink {
    /// Brokers and librdkafka properties.
    public var configuration: KafkaConfiguration
    /// The topic of an element.
    public var topic: @Sendable (Element) -> String
    /// The key of an element (`nil`: no key).
    public var key: @Sendable (Element) -> [UInt8]?
    /// The value of an element.
    public var value: @Sendable (Element) throws -> [UInt8]
    /// The headers of an element.
    public var headers: @Sendable (Element) -> [KafkaHeader]

    /// Creates a sink.
    public init(
        _ configuration: KafkaConfiguration,
        topic: @escaping @Sendable (Element) -> String,
        key: @escaping @Sendable (Element) -> [UInt8]? = { _ in nil },
        headers: @escaping @Sendable (Element) -> [KafkaHeader] = { _ in [] },
        value: @escaping @Sendable (Element) throws -> [UInt8]
    ) {
        self.configuration = configuration
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Creates a sink that produces every element to `topic`.
    public init(
        _ configuration: KafkaConfiguration,
        topic: String,
        key: @escaping @Sendable (Element) -> [UInt8]? = { _ in nil },
        headers: @escaping @Sendable (Element) -> [KafkaHeader] = { _ in [] },
        value: @escaping @Sendable (Element) throws -> [UInt8]
    ) {
        self.init(configuration, topic: { _ in topic }, key: key, headers: headers, value: value)
    }

    /// Connects and checks that the brokers answer.
    public func makeWriter(context: SinkContext) async throws -> Writer {
        let deliveries = RDKafkaDeliveries()
        let client = try RDKafkaClient.producer(
            configuration,
            overrides: ["enable.idempotence": "true"],
            deliveries: deliveries
        )
        try client.checkCluster(topics: [], timeout: configuration.startupTimeout)
        return Writer(sink: self, client: client, deliveries: deliveries, name: context.name)
    }

    /// Produces on the pipeline's task.
    public final class Writer: SinkWriter {
        let sink: KafkaSink<Element>
        let client: RDKafkaClient
        let deliveries: RDKafkaDeliveries
        let name: String

        init(sink: KafkaSink<Element>, client: RDKafkaClient, deliveries: RDKafkaDeliveries, name: String) {
            self.sink = sink
            self.client = client
            self.deliveries = deliveries
            self.name = name
        }

        /// How many records the brokers have acknowledged.
        public var delivered: Int { deliveries.state.withLock { $0.delivered } }

        /// Hands the batch's elements to librdkafka's queue, which batches and sends them in its own
        /// threads; then serves the delivery reports that have arrived, without waiting for the
        /// others (a checkpoint waits for them).
        public func write(_ batch: Batch<Element>) async throws {
            for element in batch.elements {
                let value: [UInt8]
                do {
                    value = try sink.value(element)
                } catch {
                    throw StreamKitError(
                        code: .sinkFailed,
                        message: "Kafka sink '\(name)' could not encode an element: \(error)",
                        underlying: error
                    )
                }
                try await produce(
                    topic: sink.topic(element),
                    key: sink.key(element),
                    value: value,
                    headers: sink.headers(element)
                )
            }
            client.poll()
            try reportFailures()
        }

        private func produce(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) async throws {
            while true {
                switch client.produce(topic: topic, key: key, value: value, headers: headers, deliveries: deliveries) {
                case .queued: return
                case .failed(let reason):
                    throw StreamKitError(
                        code: .sinkFailed,
                        message: "Kafka sink '\(name)' cannot produce to '\(topic)': \(reason)"
                    )
                case .queueFull:
                    // Backpressure: serve delivery reports until the queue has room.
                    client.poll()
                    try reportFailures()
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
        }

        private func reportFailures() throws {
            let failures = deliveries.state.withLock { state in
                defer { state.failures = [] }
                return state.failures
            }
            if let first = failures.first {
                throw StreamKitError(
                    code: .sinkFailed,
                    message: "Kafka sink '\(name)': \(failures.count) record(s) could not be delivered: \(first)"
                )
            }
        }

        /// Sends what librdkafka holds back for batching and waits until every record written so
        /// far is acknowledged, serving delivery reports without blocking the task.
        private func drain() async throws {
            client.sendNow()
            while deliveries.state.withLock({ $0.outstanding }) > 0 {
                client.poll()
                try reportFailures()
                try await Task.sleep(for: .milliseconds(1))
            }
            try reportFailures()
        }

        /// Waits until the brokers acknowledged everything written before the checkpoint.
        public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? {
            try await drain()
            return nil
        }

        /// Waits for every acknowledgement.
        public func finish() async throws {
            try await drain()
        }
    }
}

extension KafkaSink where Element: Encodable {
    /// Creates a sink that produces every element as JSON to `topic`.
    public init(
        _ configuration: KafkaConfiguration,
        topic: String,
        key: @escaping @Sendable (Element) -> [UInt8]? = { _ in nil }
    ) {
        self.init(configuration, topic: topic, key: key) { element in Array(try JSONEncoder().encode(element)) }
    }
}
