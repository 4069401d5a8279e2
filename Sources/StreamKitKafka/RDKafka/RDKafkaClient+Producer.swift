import CRdKafka
import Foundation
import StreamKit
import Synchronization

/// Counts a producer's outstanding records and delivery failures; updated by librdkafka's delivery
/// reports, which run inside ``RDKafkaClient/poll()`` on the polling task.
final class RDKafkaDeliveries: Sendable {
    struct State {
        var outstanding = 0
        var failures: [String] = []
        var delivered = 0
    }
    let state = Mutex(State())

    fileprivate func delivered(error: rd_kafka_resp_err_t) {
        state.withLock { state in
            state.outstanding -= 1
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                state.delivered += 1
            } else {
                state.failures.append(RDKafkaClient.describe(error))
            }
        }
    }
}

/// librdkafka's delivery report callback: recovers the client's ``RDKafkaClient/Callbacks`` from the
/// opaque pointer and counts the report.
let deliveryTrampoline:
    @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
        _,
        message,
        opaque in
        guard let message, let opaque else { return }
        Unmanaged<RDKafkaClient.Callbacks>.fromOpaque(opaque).takeUnretainedValue().deliveries?
            .delivered(error: message.pointee.err)
    }

extension RDKafkaClient {
    /// The outcome of handing one record to librdkafka.
    enum ProduceResult {
        case queued
        /// librdkafka's queue is full (`queue.buffering.max.messages`/`.kbytes`): serve delivery
        /// reports and try again.
        case queueFull
        case failed(String)
    }

    /// Hands one record to librdkafka's queue (copied; librdkafka batches and sends it in its own
    /// threads); its delivery report comes through a later ``poll()``.
    func produce(
        topic: String,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader],
        deliveries: RDKafkaDeliveries
    ) -> ProduceResult {
        deliveries.state.withLock { $0.outstanding += 1 }
        let error = topic.withCString { topicName in
            value.withUnsafeBytes { valueBytes in
                (key ?? []).withUnsafeBytes { keyBytes in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 4 + headers.count) { fields in
                        var count = 0
                        func add(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t) -> Void) {
                            var field = rd_kafka_vu_t()
                            field.vtype = type
                            set(&field)
                            fields[count] = field
                            count += 1
                        }
                        add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topicName }
                        add(RD_KAFKA_VTYPE_VALUE) {
                            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                            $0.u.mem.size = valueBytes.count
                        }
                        if key != nil {
                            add(RD_KAFKA_VTYPE_KEY) {
                                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                                $0.u.mem.size = keyBytes.count
                            }
                        }
                        add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                        if headers.isEmpty { return Self.produce(pointer, fields: fields, count: count) }
                        // librdkafka copies header names and values: these live for the call only.
                        let names = headers.map { strdup($0.name) }
                        let values = headers.map { header in
                            header.value.map { value -> UnsafeMutableRawPointer in
                                let copy = UnsafeMutableRawPointer.allocate(
                                    byteCount: max(1, value.count),
                                    alignment: 1
                                )
                                value.withUnsafeBytes { bytes in
                                    if let base = bytes.baseAddress {
                                        copy.copyMemory(from: base, byteCount: bytes.count)
                                    }
                                }
                                return copy
                            }
                        }
                        defer {
                            for name in names { free(name) }
                            for value in values { value?.deallocate() }
                        }
                        for (index, header) in headers.enumerated() {
                            add(RD_KAFKA_VTYPE_HEADER) {
                                $0.u.header.name = UnsafePointer(names[index])
                                $0.u.header.val = values[index].map(UnsafeRawPointer.init)
                                $0.u.header.size = header.value?.count ?? -1
                            }
                        }
                        return Self.produce(pointer, fields: fields, count: count)
                    }
                }
            }
        }
        if error == RD_KAFKA_RESP_ERR_NO_ERROR { return .queued }
        deliveries.state.withLock { $0.outstanding -= 1 }
        return error == RD_KAFKA_RESP_ERR__QUEUE_FULL ? .queueFull : .failed(Self.describe(error))
    }

    private static func produce(
        _ pointer: OpaquePointer,
        fields: UnsafeMutableBufferPointer<rd_kafka_vu_t>,
        count: Int
    ) -> rd_kafka_resp_err_t {
        guard let error = rd_kafka_produceva(pointer, fields.baseAddress, count) else {
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
        defer { rd_kafka_error_destroy(error) }
        return rd_kafka_error_code(error)
    }

    /// Serves the delivery reports that have arrived, without waiting.
    func poll() {
        rd_kafka_poll(pointer, 0)
    }

    /// Asks librdkafka to send what it holds back for batching (`linger.ms`) now, without waiting
    /// for the acknowledgements (``poll()`` serves them).
    func sendNow() {
        _ = rd_kafka_flush(pointer, 0)
    }
}
