/// A hash table from key to value for the per-element paths of keyed operators: open addressing
/// with linear probing over a slot array that points into dense key and value arrays.
///
/// It is faster than `Dictionary` where StreamKit needs it: integer keys hash with one
/// multiplication instead of SipHash (``KeyHashing``), lookups and in-place updates of the value
/// cost one probe sequence, and iterating the entries walks two dense arrays in insertion order.
/// Entries are never removed one by one: a window's table is dropped whole when the window closes.
@usableFromInline
struct KeyTable<Key: Hashable, Value> {
    /// The keys, in insertion order.
    @usableFromInline var keys: [Key] = []
    /// The values, aligned with ``keys``.
    @usableFromInline var values: [Value] = []
    /// For each slot, the index into ``keys`` plus one; 0 marks an empty slot.
    @usableFromInline var slots: [Int32]
    /// The number of slots minus one (the slot count is a power of two).
    @usableFromInline var mask: Int
    /// How far to shift a 64-bit hash to get a slot index.
    @usableFromInline var shift: Int

    @inlinable
    init(capacity: Int = 16) {
        var slotCount = 16
        while slotCount < capacity * 2 { slotCount *= 2 }
        slots = Array(repeating: 0, count: slotCount)
        mask = slotCount - 1
        shift = 64 - slotCount.trailingZeroBitCount
    }

    /// The number of entries.
    @inlinable
    var count: Int { keys.count }

    /// The index of `key`'s entry in ``keys`` and ``values``, if there is one.
    @inlinable
    @inline(__always)
    func index(of key: Key) -> Int? {
        var slot = Int(truncatingIfNeeded: KeyHashing.hash(key) >> UInt64(shift))
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            if keys[entry - 1] == key { return entry - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// Adds `value` under `key` (which must not be present) and returns its index.
    @inlinable
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value) -> Int {
        if (keys.count + 1) * 4 > slots.count * 3 { grow() }
        var slot = Int(truncatingIfNeeded: KeyHashing.hash(key) >> UInt64(shift))
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        keys.append(key)
        values.append(value)
        slots[slot] = Int32(truncatingIfNeeded: keys.count)
        return keys.count - 1
    }

    /// Makes room for `count` more entries without growing one step at a time.
    mutating func reserve(_ count: Int) {
        keys.reserveCapacity(keys.count + count)
        values.reserveCapacity(values.count + count)
        while (keys.count + count) * 4 > slots.count * 3 { grow() }
    }

    @usableFromInline
    mutating func grow() {
        let slotCount = slots.count * 2
        slots = Array(repeating: 0, count: slotCount)
        mask = slotCount - 1
        shift = 64 - slotCount.trailingZeroBitCount
        for (index, key) in keys.enumerated() {
            var slot = Int(truncatingIfNeeded: KeyHashing.hash(key) >> UInt64(shift))
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(truncatingIfNeeded: index + 1)
        }
    }
}

/// The 64-bit hash StreamKit uses to place keys in tables and on workers.
///
/// Integer keys hash with a Fibonacci multiplication (the type test folds away when the code is
/// specialized), other keys with their `hashValue` mixed the same way. The high bits of the result
/// are well spread, so tables and partitioners take the high bits.
@usableFromInline
enum KeyHashing {
    @inlinable
    static func hash<Key: Hashable>(_ key: Key) -> UInt64 {
        let raw: UInt64
        if Key.self == Int.self {
            raw = UInt64(bitPattern: Int64(unsafeBitCast(key, to: Int.self)))
        } else if Key.self == Int64.self {
            raw = UInt64(bitPattern: unsafeBitCast(key, to: Int64.self))
        } else if Key.self == Int32.self {
            raw = UInt64(UInt32(bitPattern: unsafeBitCast(key, to: Int32.self)))
        } else if Key.self == UInt64.self {
            raw = unsafeBitCast(key, to: UInt64.self)
        } else {
            raw = UInt64(bitPattern: Int64(key.hashValue))
        }
        return (raw ^ (raw >> 29)) &* 0x9E37_79B9_7F4A_7C15
    }
}
