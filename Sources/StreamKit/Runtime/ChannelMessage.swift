/// What travels through a ``BoundedChannel`` between two stages of a pipeline. Every message names
/// the producer that sent it, so the consumer can keep one watermark per input.
enum ChannelMessage<Element: Sendable>: Sendable {
    /// A batch of elements from a producer, and the producer's watermark after it if it moved.
    case batch(producer: Int, Batch<Element>, watermarkAfter: Timestamp?)
    /// A producer's watermark moved forward.
    case watermark(producer: Int, Timestamp)
    /// A producer has no data for now.
    case idle(producer: Int)
    /// A producer's input ended.
    case end(producer: Int)
    /// The processing-time clock, for idle detection.
    case tick(Timestamp)
    /// A checkpoint barrier from a producer.
    case barrier(producer: Int, Barrier)
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
        await channel.send(.batch(producer: producer, batch, watermarkAfter: nil))
    }

    func process(_ batch: Batch<Element>, watermarkAfter: Timestamp?) async throws {
        await channel.send(.batch(producer: producer, batch, watermarkAfter: watermarkAfter))
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

    func barrier(_ barrier: Barrier) async throws {
        await channel.send(.barrier(producer: producer, barrier))
    }
}

/// The sending end of a key-partitioned exchange: tags each element with the worker that owns its
/// key and sends the batch, shared rather than copied, to every worker, which keeps its own
/// elements (``RouteSelectOperator``): the copying runs on the workers, in parallel, instead of in
/// the single producer. Watermarks, idleness and the end of input go to every worker.
@usableFromInline
final class ExchangeSender<Element: Sendable>: BatchOperator {
    /// Computes the worker of each element; formed in the caller's module by
    /// ``DataStream/key(name:by:)-(_,(Element)->Key)`` so that the loop is specialized.
    @usableFromInline typealias Route = @Sendable (Batch<Element>, Int) -> [UInt16]

    let channels: [BoundedChannel<ChannelMessage<Element>>]
    let producer: Int
    let route: Route

    init(channels: [BoundedChannel<ChannelMessage<Element>>], producer: Int, route: @escaping Route) {
        self.channels = channels
        self.producer = producer
        self.route = route
    }

    func process(_ batch: Batch<Element>) async throws {
        try await process(batch, watermarkAfter: nil)
    }

    func process(_ batch: Batch<Element>, watermarkAfter: Timestamp?) async throws {
        var routed = batch
        routed.routes = route(batch, channels.count)
        for channel in channels {
            await channel.send(.batch(producer: producer, routed, watermarkAfter: watermarkAfter))
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

    func barrier(_ barrier: Barrier) async throws {
        for channel in channels { await channel.send(.barrier(producer: producer, barrier)) }
    }
}

/// The entry of a worker after an exchange: keeps the elements of a routed batch that belong to
/// this worker.
@usableFromInline
final class RouteSelectOperator<Element: Sendable>: BatchOperator {
    /// Keeps the elements routed to a worker; formed in the caller's module.
    @usableFromInline typealias Select = @Sendable (Batch<Element>, Int) -> Batch<Element>

    let worker: Int
    let select: Select
    let downstream: Downstream<Element>

    init(worker: Int, select: @escaping Select, downstream: Downstream<Element>) {
        self.worker = worker
        self.select = select
        self.downstream = downstream
    }

    func process(_ batch: Batch<Element>) async throws {
        try await process(batch, watermarkAfter: nil)
    }

    func process(_ batch: Batch<Element>, watermarkAfter: Timestamp?) async throws {
        let mine = batch.routes.isEmpty ? batch : select(batch, worker)
        try await downstream.process(mine, watermarkAfter: watermarkAfter)
    }

    func advance(to watermark: Timestamp) async throws { try await downstream.advance(to: watermark) }
    func markIdle() async throws { try await downstream.markIdle() }
    func finish() async throws { try await downstream.finish() }
    func barrier(_ barrier: Barrier) async throws { try await downstream.barrier(barrier) }
    func stop() async throws { try await downstream.stop() }
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

    /// The worker of each element of a batch.
    @inlinable
    static func routes<Element, Key: Hashable>(
        _ batch: Batch<Element>,
        workers: Int,
        by key: (Element) -> Key
    ) -> [UInt16] {
        let count = batch.count
        return [UInt16](unsafeUninitializedCapacity: count) { routes, initialized in
            batch.elements.withUnsafeBufferPointer { elements in
                for index in 0..<count {
                    routes[index] = UInt16(truncatingIfNeeded: worker(for: key(elements[index]), workers: workers))
                }
            }
            initialized = count
        }
    }

    /// The elements of a routed batch that belong to `worker`, in order, with their times (found
    /// without a branch per element: see `Batch.positions(count:where:)`).
    @inlinable
    static func select<Element>(_ batch: Batch<Element>, worker: Int) -> Batch<Element> {
        let target = UInt16(truncatingIfNeeded: worker)
        let mine = batch.routes.withUnsafeBufferPointer { routes in
            Batch<Element>.positions(count: routes.count) { routes[$0] == target }
        }
        return batch.gathered(at: mine)
    }
}
