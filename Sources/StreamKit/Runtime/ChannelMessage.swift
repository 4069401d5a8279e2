/// What travels through a ``BoundedChannel`` between two stages of a pipeline. Every message names
/// the producer that sent it, so the consumer can keep one watermark per input.
enum ChannelMessage<Element: Sendable>: Sendable {
    /// A batch of elements from a producer.
    case batch(producer: Int, Batch<Element>)
    /// A producer's watermark moved forward.
    case watermark(producer: Int, Timestamp)
    /// A producer has no data for now.
    case idle(producer: Int)
    /// A producer's input ended.
    case end(producer: Int)
    /// The processing-time clock, for idle detection.
    case tick(Timestamp)
}

/// The sending end of a channel, as an operator at the edge of a stage: what an upstream stage
/// pushes into is delivered, tagged with its producer index, to the downstream stage's task.
final class ChannelSender<Element: Sendable>: BatchOperator {
    typealias Input = Element
    let channel: BoundedChannel<ChannelMessage<Element>>
    let producer: Int

    init(channel: BoundedChannel<ChannelMessage<Element>>, producer: Int) {
        self.channel = channel
        self.producer = producer
    }

    func process(_ batch: Batch<Element>) async throws {
        await channel.send(.batch(producer: producer, batch))
    }

    func advance(to watermark: Timestamp) async throws {
        await channel.send(.watermark(producer: producer, watermark))
    }

    func markIdle() async throws {
        await channel.send(.idle(producer: producer))
    }

    func finish() async throws {
        await channel.send(.end(producer: producer))
    }
}

/// The sending end of a key-partitioned exchange: routes each element to the worker that owns its
/// key, and broadcasts watermarks, idleness and the end of input to every worker.
@usableFromInline
final class ExchangeSender<Element: Sendable>: BatchOperator {
    /// Splits a batch into one batch per worker; formed in the caller's module by
    /// ``DataStream/key(name:by:)-(_,(Element)->Key)`` so that the loop is specialized.
    @usableFromInline typealias Partition = @Sendable (Batch<Element>, Int) -> [Batch<Element>]

    let channels: [BoundedChannel<ChannelMessage<Element>>]
    let producer: Int
    let partition: Partition

    init(channels: [BoundedChannel<ChannelMessage<Element>>], producer: Int, partition: @escaping Partition) {
        self.channels = channels
        self.producer = producer
        self.partition = partition
    }

    func process(_ batch: Batch<Element>) async throws {
        let parts = partition(batch, channels.count)
        for worker in 0..<channels.count where !parts[worker].isEmpty {
            await channels[worker].send(.batch(producer: producer, parts[worker]))
        }
    }

    func advance(to watermark: Timestamp) async throws {
        for channel in channels { await channel.send(.watermark(producer: producer, watermark)) }
    }

    func markIdle() async throws {
        for channel in channels { await channel.send(.idle(producer: producer)) }
    }

    func finish() async throws {
        for channel in channels { await channel.send(.end(producer: producer)) }
    }
}

/// Which worker owns a key.
@usableFromInline
enum Partitioner {
    /// The worker index for `key` among `workers`: a second mix of the key's ``KeyHashing`` hash,
    /// mapped to the range by multiplication. The second mix keeps the worker independent of the
    /// bits that place the key in the worker's hash tables.
    @inlinable
    static func worker<Key: Hashable>(for key: Key, workers: Int) -> Int {
        let hash = KeyHashing.hash(key)
        let mixed = (hash ^ (hash >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: ((mixed >> 32) &* UInt64(workers)) >> 32)
    }

    /// Splits a batch into one batch per worker by each element's key, keeping their order.
    @inlinable
    static func partition<Element, Key: Hashable>(
        _ batch: Batch<Element>,
        workers: Int,
        by key: (Element) -> Key
    ) -> [Batch<Element>] {
        let count = batch.count
        var sizes = [Int](repeating: 0, count: workers)
        let targets = [UInt16](unsafeUninitializedCapacity: count) { targets, initialized in
            batch.elements.withUnsafeBufferPointer { elements in
                for index in 0..<count {
                    let worker = worker(for: key(elements[index]), workers: workers)
                    targets[index] = UInt16(truncatingIfNeeded: worker)
                    sizes[worker] &+= 1
                }
            }
            initialized = count
        }
        return (0..<workers).map { worker in
            let size = sizes[worker]
            func pick<T>(_ source: [T]) -> [T] {
                [T](unsafeUninitializedCapacity: size) { output, initialized in
                    var next = 0
                    for index in 0..<count where targets[index] == worker {
                        (output.baseAddress! + next).initialize(to: source[index])
                        next &+= 1
                    }
                    initialized = next
                }
            }
            if batch.hasEventTime {
                return Batch(
                    elements: pick(batch.elements),
                    timestamps: pick(batch.timestamps),
                    watermarks: pick(batch.watermarks)
                )
            }
            return Batch(elements: pick(batch.elements))
        }
    }
}
