import CRdKafka
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
        let conf = try configuration.makeConf(overrides: ["enable.idempotence": "true"])
        let deliveries = KafkaDeliveries()
        deliveries.install(on: conf)
        let client = try KafkaHandle(
            type: RD_KAFKA_PRODUCER,
            conf: conf,
            bootstrapServers: configuration.bootstrapServers,
            callbackContext: deliveries
        )
        try client.checkCluster(topics: [], timeoutMilliseconds: configuration.startupTimeoutMilliseconds)
        return Writer(sink: self, client: client, deliveries: deliveries, name: context.name)
    }

    /// Produces on the pipeline's task.
    public final class Writer: SinkWriter {
        let sink: KafkaSink<Element>
        let client: KafkaHandle
        let deliveries: KafkaDeliveries
        let name: String

        init(sink: KafkaSink<Element>, client: KafkaHandle, deliveries: KafkaDeliveries, name: String) {
            self.sink = sink
            self.client = client
            self.deliveries = deliveries
            self.name = name
        }

        /// How many records the brokers have acknowledged.
        public var delivered: Int { deliveries.state.withLock { $0.delivered } }

        /// Produces the batch's elements.
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
            rd_kafka_poll(client.pointer, 0)
            try reportFailures()
        }

        private func produce(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) async throws {
            while true {
                deliveries.state.withLock { $0.outstanding += 1 }
                let error = Self.produce(client.pointer, topic: topic, key: key, value: value, headers: headers)
                if error == RD_KAFKA_RESP_ERR_NO_ERROR { return }
                deliveries.state.withLock { $0.outstanding -= 1 }
                guard error == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                    throw StreamKitError(
                        code: .sinkFailed,
                        message: "Kafka sink '\(name)' cannot produce to '\(topic)': \(KafkaHandle.describe(error))"
                    )
                }
                // Backpressure: serve delivery reports until the queue has room.
                rd_kafka_poll(client.pointer, 0)
                try await Task.sleep(for: .milliseconds(1))
            }
        }

        static func produce(
            _ handle: OpaquePointer,
            topic: String,
            key: [UInt8]?,
            value: [UInt8],
            headers: [KafkaHeader]
        ) -> rd_kafka_resp_err_t {
            topic.withCString { topicName in
                value.withUnsafeBytes { valueBytes in
                    (key ?? []).withUnsafeBytes { keyBytes in
                        let names = headers.map { strdup($0.name) }
                        defer { for name in names { free(name) } }
                        let headerValues = headers.map { $0.value ?? [] }
                        var fields: [rd_kafka_vu_t] = []
                        var field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_TOPIC
                        field.u.cstr = topicName
                        fields.append(field)
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_VALUE
                        field.u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                        field.u.mem.size = valueBytes.count
                        fields.append(field)
                        if key != nil {
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_KEY
                            field.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                            field.u.mem.size = keyBytes.count
                            fields.append(field)
                        }
                        field = rd_kafka_vu_t()
                        field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        field.u.i = RD_KAFKA_MSG_F_COPY
                        fields.append(field)
                        return withHeaderValues(headerValues) { pointers in
                            for (index, header) in headers.enumerated() {
                                field = rd_kafka_vu_t()
                                field.vtype = RD_KAFKA_VTYPE_HEADER
                                field.u.header.name = UnsafePointer(names[index])
                                field.u.header.val = header.value == nil ? nil : pointers[index]
                                field.u.header.size = header.value == nil ? -1 : headerValues[index].count
                                fields.append(field)
                            }
                            guard let error = rd_kafka_produceva(handle, fields, fields.count) else {
                                return RD_KAFKA_RESP_ERR_NO_ERROR
                            }
                            defer { rd_kafka_error_destroy(error) }
                            return rd_kafka_error_code(error)
                        }
                    }
                }
            }
        }

        /// Calls `body` with stable pointers to the header values.
        static func withHeaderValues<R>(_ values: [[UInt8]], _ body: ([UnsafeRawPointer?]) -> R) -> R {
            let copies = values.map { value -> UnsafeMutableRawPointer? in
                guard !value.isEmpty else { return nil }
                let copy = UnsafeMutableRawPointer.allocate(byteCount: value.count, alignment: 1)
                value.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: value.count) }
                return copy
            }
            defer { for copy in copies { copy?.deallocate() } }
            return body(copies.map { $0.map(UnsafeRawPointer.init) })
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

        /// Waits until every record written so far is acknowledged.
        private func drain() async throws {
            while deliveries.state.withLock({ $0.outstanding }) > 0 {
                rd_kafka_poll(client.pointer, 0)
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

/// Counts outstanding records and delivery failures; updated from librdkafka's callbacks, which
/// run inside `rd_kafka_poll` on the writer's task.
final class KafkaDeliveries: Sendable {
    struct State {
        var outstanding = 0
        var failures: [String] = []
        var delivered = 0
    }
    let state = Mutex(State())

    func delivered(error: rd_kafka_resp_err_t) {
        state.withLock { state in
            state.outstanding -= 1
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                state.delivered += 1
            } else {
                state.failures.append(KafkaHandle.describe(error))
            }
        }
    }

    /// Routes librdkafka's delivery reports of `conf` to this object, which must outlive the client.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            Unmanaged<KafkaDeliveries>.fromOpaque(opaque).takeUnretainedValue().delivered(error: message.pointee.err)
        }
    }
}
