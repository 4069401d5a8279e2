extension WindowState where Key: Codable {
    /// The checkpointed form of a window state: every open window with its keys and accumulators.
    ///
    /// When keys and accumulators are plain values (integers, doubles, structs of them), their
    /// arrays are stored as raw memory with a description of their layout, which is checked on
    /// restore: a million keys then cost a copy instead of a million encodings.
    struct Snapshot: Codable {
        struct Bucket: Codable {
            var window: Window
            var fired: Bool
            var keys: [Key]?
            var accumulators: [A.Accumulator]?
            var rawKeys: [UInt8]?
            var rawAccumulators: [UInt8]?
        }
        var watermark: Timestamp
        var lateCount: Int
        var layout: String?
        var buckets: [Bucket]
        /// The operator copy that wrote the snapshot (absent in checkpoints of earlier versions).
        var instance: Int?
    }

    /// The layout of raw state, or `nil` when keys or accumulators are not plain values.
    private static var rawLayout: String? {
        guard _isPOD(Key.self), _isPOD(A.Accumulator.self) else { return nil }
        return "\(String(reflecting: Key.self)):\(MemoryLayout<Key>.stride) "
            + "\(String(reflecting: A.Accumulator.self)):\(MemoryLayout<A.Accumulator>.stride)"
    }

    private static func raw<T>(_ values: UnsafeBufferPointer<T>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(values))
    }

    private static func values<T>(_ bytes: [UInt8], as type: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[0..<(count * MemoryLayout<T>.stride)])
                )
            }
            initialized = count
        }
    }

    /// The encoded state, as written by operator copy `instance`.
    func snapshot(instance: Int) throws -> [UInt8] {
        let layout = Self.rawLayout
        return try StateCoding.encode(
            Snapshot(
                watermark: watermark,
                lateCount: lateCount,
                layout: layout,
                buckets: buckets.map { bucket in
                    layout == nil
                        ? .init(
                            window: bucket.window,
                            fired: bucket.fired,
                            keys: Array(bucket.table.keyBuffer),
                            accumulators: Array(bucket.table.valueBuffer)
                        )
                        : .init(
                            window: bucket.window,
                            fired: bucket.fired,
                            rawKeys: Self.raw(bucket.table.keyBuffer),
                            rawAccumulators: Self.raw(bucket.table.valueBuffer)
                        )
                },
                instance: instance
            )
        )
    }

    /// The operator copies whose snapshot among `snapshots` holds at least one key.
    static func instancesHoldingKeys(in snapshots: [[UInt8]], operator name: String) throws -> [Int] {
        try snapshots.compactMap { bytes in
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: name)
            let holdsKeys = snapshot.buckets.contains { $0.keys?.isEmpty == false || $0.rawKeys?.isEmpty == false }
            return holdsKeys ? snapshot.instance : nil
        }
    }

    /// Adds the keys for which `owns` is true from each snapshot, and takes the highest watermark.
    /// - Parameters:
    ///   - only: When given, only the snapshot written by this copy is read.
    ///   - countsLate: Whether this copy takes over the snapshots' counts of late elements (one
    ///     copy does, so that the total is kept).
    ///   - merging: The snapshots are those of a two-phase run's local steps, restored into a
    ///     one-phase window: their partial aggregates are merged into the keys already restored,
    ///     and their watermarks, each a partition's own, are not taken.
    mutating func restore(
        from snapshots: [[UInt8]],
        operator name: String,
        only: Int? = nil,
        countsLate: Bool,
        merging: Bool = false,
        owns: (Key) -> Bool
    ) throws {
        for bytes in snapshots {
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: name)
            if let only, snapshot.instance != only { continue }
            if let layout = snapshot.layout, layout != Self.rawLayout {
                throw StreamKitError(
                    code: .checkpoint,
                    message: "the checkpointed state of '\(name)' was written for keys and accumulators \(layout), "
                        + "not \(Self.rawLayout ?? "of the current types"): the aggregate or key type changed; "
                        + "start fresh or restore the old types"
                )
            }
            if !merging { watermark = Swift.max(watermark, snapshot.watermark) }
            if countsLate { lateCount += snapshot.lateCount }
            for bucket in snapshot.buckets {
                let keys = bucket.keys ?? bucket.rawKeys.map { Self.values($0, as: Key.self) } ?? []
                let accumulators =
                    bucket.accumulators ?? bucket.rawAccumulators.map { Self.values($0, as: A.Accumulator.self) } ?? []
                let index = findOrInsertBucket(for: bucket.window)
                buckets[index].fired = buckets[index].fired || bucket.fired
                buckets[index].table.reserve(keys.count)
                for (key, accumulator) in zip(keys, accumulators) where owns(key) {
                    if merging, let slot = buckets[index].table.index(of: key) {
                        aggregation.merge(accumulator, into: &buckets[index].table.values[slot])
                    } else {
                        buckets[index].table.insert(key, accumulator)
                    }
                }
            }
        }
        recomputeNextAction()
    }
}
