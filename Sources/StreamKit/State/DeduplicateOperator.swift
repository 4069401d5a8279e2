import CoreMetrics
import HeapModule

/// Drops the elements whose key and identity were seen within a span of event time: the runtime of
/// ``KeyedStream/deduplicate(by:within:name:)``.
///
/// Each element's (key, identity) is remembered until the watermark passes the element's time plus
/// `within`; a second element with the same pair before then is dropped and counted
/// (`streamkit_duplicates_total`). The remembered pairs are the operator's state in checkpoints.
final class DeduplicateOperator<
    Key: Hashable & Sendable & Codable,
    Element: Sendable,
    ID: Hashable & Sendable & Codable
>:
    BatchOperator
{
    typealias Input = Element

    struct Seen: Hashable, Codable {
        var key: Key
        var id: ID
    }

    struct Expiry: Comparable, Codable {
        var time: Timestamp
        var seen: Seen
        static func < (lhs: Expiry, rhs: Expiry) -> Bool { lhs.time < rhs.time }
        static func == (lhs: Expiry, rhs: Expiry) -> Bool { lhs.time == rhs.time && lhs.seen == rhs.seen }
    }

    let key: @Sendable (Element) -> Key
    let identity: @Sendable (Element) -> ID
    let within: Duration
    let downstream: Downstream<Element>
    let name: String
    let instance: Int
    /// When each remembered pair may be forgotten.
    private var seen: [Seen: Timestamp] = [:]
    private var expiries = Heap<Expiry>()
    private var watermark = Timestamp.min
    private let duplicates: CoreMetrics.Counter

    init(
        key: @escaping @Sendable (Element) -> Key,
        identity: @escaping @Sendable (Element) -> ID,
        within: Duration,
        downstream: Downstream<Element>,
        context: BuildContext
    ) {
        self.key = key
        self.identity = identity
        self.within = within
        self.downstream = downstream
        self.name = context.nodeName
        self.instance = context.instance
        self.duplicates = OperatorMetrics(pipeline: context.pipelineName, operator: context.nodeName)
            .counter(StreamKitMetrics.duplicates)
    }

    func process(_ batch: Batch<Element>) async throws {
        var kept = Batch<Element>(reservingCapacity: batch.count, withTime: true)
        var dropped = 0
        for index in 0..<batch.count {
            let elementWatermark = batch.watermarks[index]
            if elementWatermark > watermark { forget(upTo: elementWatermark) }
            let element = batch.elements[index]
            let pair = Seen(key: key(element), id: identity(element))
            let expiry = batch.timestamps[index] + within
            if let known = seen[pair] {
                dropped += 1
                if expiry > known {
                    // Remembered for as long as its latest copy needs.
                    seen[pair] = expiry
                    expiries.insert(Expiry(time: expiry, seen: pair))
                }
                continue
            }
            seen[pair] = expiry
            expiries.insert(Expiry(time: expiry, seen: pair))
            kept.append(element, timestamp: batch.timestamps[index], watermark: elementWatermark)
        }
        if dropped > 0 { duplicates.increment(by: Int64(dropped)) }
        let forwarded = kept.watermarks.last ?? .min
        if !kept.isEmpty { try await downstream.process(kept) }
        // The watermark of copies dropped at the end of the batch still moves time on downstream.
        if watermark > forwarded { try await downstream.advance(to: watermark) }
    }

    /// Forgets the pairs whose time plus `within` the watermark has reached.
    private func forget(upTo newWatermark: Timestamp) {
        watermark = newWatermark
        while let first = expiries.min, first.time <= newWatermark {
            let expiry = expiries.removeMin()
            // A pair seen again later has a later expiry in the table; only that one removes it.
            if seen[expiry.seen] == expiry.time { seen[expiry.seen] = nil }
        }
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > self.watermark { forget(upTo: watermark) }
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws { try await downstream.markIdle() }

    func finish() async throws { try await downstream.finish() }

    func barrier(_ barrier: Barrier) async throws {
        try barrier.store.report(barrier.id, operator: name, instance: instance, state: snapshot())
        try await downstream.barrier(barrier)
    }

    func stop() async throws { try await downstream.stop() }
}

extension DeduplicateOperator: Snapshotting {
    /// The checkpointed form: the remembered pairs with their expiries, and the watermark.
    struct Snapshot: Codable {
        var watermark: Timestamp
        var seen: [Expiry]
    }

    func snapshot() throws -> [UInt8] {
        try StateCoding.encode(
            Snapshot(watermark: watermark, seen: seen.map { Expiry(time: $0.value, seen: $0.key) })
        )
    }

    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        for bytes in snapshots {
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: name)
            watermark = Swift.max(watermark, snapshot.watermark)
            for expiry in snapshot.seen
            where StateCoding.owns(expiry.seen.key, instance: instance, instances: instances) {
                if let known = seen[expiry.seen], known >= expiry.time { continue }
                seen[expiry.seen] = expiry.time
                expiries.insert(expiry)
            }
        }
    }
}
