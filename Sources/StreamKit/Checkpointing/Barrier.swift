import Foundation

/// The marker of a checkpoint as it travels through the graph behind the records that precede it.
///
/// A source injects a barrier between two batches and records its position; every operator that
/// receives it reports its state to the store and passes it on; an operator with several inputs
/// waits for the barrier on every input before it does (alignment). The state reported is
/// therefore a consistent cut: everything before the barrier, nothing after.
struct Barrier: Sendable {
    /// The checkpoint's number.
    let id: Int64
    /// Where participants report.
    let store: CheckpointStore
}

/// An operator whose state goes into checkpoints.
protocol Snapshotting: AnyObject {
    /// The operator's state, encoded.
    func snapshot() throws -> [UInt8]
    /// Takes the state of the keys this instance owns from the snapshots of every instance of the
    /// run that wrote the checkpoint.
    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws
}

/// Encoding of operator state for checkpoints: ``BinaryStateCoder``.
enum StateCoding {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try BinaryStateCoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], operator name: String) throws -> T {
        do {
            return try BinaryStateCoder.decode(type, from: bytes)
        } catch {
            throw StreamKitError(
                code: .checkpoint,
                message: "the checkpointed state of '\(name)' does not decode as \(type) (\(describe(error))): "
                    + "the operator's state type changed; start with a fresh checkpoint directory or restore the old type",
                underlying: error
            )
        }
    }

    /// Whether this instance owns `key` when `instances` workers share the keys.
    static func owns<Key: Hashable>(_ key: Key, instance: Int, instances: Int) -> Bool {
        instances == 1 || Partitioner.worker(for: key, workers: instances) == instance
    }
}
