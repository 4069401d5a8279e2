/// The state of a keyed operator: one value per key.
///
/// A ``KeyedProcessFunction``'s state lives here, and checkpoints snapshot and restore it: a
/// user-written operator gets checkpointing by making its state `Codable`, with no code of its own.
/// (Windows keep their accumulators in tables of their own, snapshotted the same way.)
public struct KeyedStateStore<Key: Hashable & Codable & Sendable, Value: Codable & Sendable>: Sendable {
    private var values: [Key: Value] = [:]

    /// Creates an empty store.
    public init() {}

    /// The value of `key`; assigning `nil` removes it.
    public subscript(key: Key) -> Value? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// How many keys have a value.
    public var count: Int { values.count }

    /// Every key and value, in no particular order.
    public var entries: [Key: Value] { values }
}

extension KeyedStateStore: Codable {
    /// Decodes the store from a list of key-value pairs.
    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        var values: [Key: Value] = [:]
        while !container.isAtEnd {
            let key = try container.decode(Key.self)
            let value = try container.decode(Value.self)
            values[key] = value
        }
        self.values = values
    }

    /// Encodes the store as a list alternating keys and values, which works for any key type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for (key, value) in values {
            try container.encode(key)
            try container.encode(value)
        }
    }
}
