/// A hash table from key to value for the per-element loops of window operators: open addressing
/// with linear probing over a slot array that points into dense key and value arrays, all in memory
/// the table manages itself.
///
/// It is faster than `Dictionary` where StreamKit needs it: integer keys hash with one
/// multiplication instead of SipHash (``KeyHashing``), lookups and in-place updates of a value cost
/// one probe sequence, and iterating the entries walks two dense arrays in insertion order.
/// Entries are never removed one by one: a window's table is dropped whole when the window closes.
///
/// It is a class over pointers rather than a struct over arrays so that the window loop updates an
/// accumulator with one store: an array would check that its buffer is uniquely referenced at every
/// update, and bounds at every access. The price is reference semantics: the one owner of a table
/// is the ``WindowState`` bucket that holds it, which never shares it with another state. Its
/// properties skip the dynamic exclusivity checks of class properties (`@exclusivity(unchecked)`):
/// a state, and so its tables, is used by one operator copy, from one task at a time, and no
/// method of the table reaches its own properties through a second access while one is open.
@usableFromInline
final class KeyTable<Key: Hashable, Value> {
    /// The keys, in insertion order; the first ``count`` are initialized.
    @usableFromInline @exclusivity(unchecked) var keys: UnsafeMutablePointer<Key>
    /// The values, aligned with ``keys``.
    @usableFromInline @exclusivity(unchecked) var values: UnsafeMutablePointer<Value>
    /// For each slot, the index into ``keys`` plus one; 0 marks an empty slot.
    @usableFromInline @exclusivity(unchecked) var slots: UnsafeMutablePointer<Int32>
    /// The number of entries.
    @usableFromInline @exclusivity(unchecked) var count = 0
    /// How many entries ``keys`` and ``values`` have room for: at most three quarters of the slots.
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    /// The number of slots minus one (the slot count is a power of two).
    @usableFromInline @exclusivity(unchecked) var mask: Int
    /// How far to shift a 64-bit hash to get a slot index.
    @usableFromInline @exclusivity(unchecked) var shift: Int

    /// Creates an empty table with room for `capacity` entries before it grows.
    @usableFromInline
    init(capacity: Int = 16) {
        // At most half full when it starts, like the hand-written loops' tables: probe runs stay
        // short until the table grows.
        var slotCount = 16
        while slotCount < capacity * 2 { slotCount *= 2 }
        self.capacity = slotCount * 3 / 4
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        keys = .allocate(capacity: self.capacity)
        values = .allocate(capacity: self.capacity)
        mask = slotCount - 1
        shift = 64 - slotCount.trailingZeroBitCount
    }

    deinit {
        keys.deinitialize(count: count)
        values.deinitialize(count: count)
        keys.deallocate()
        values.deallocate()
        slots.deallocate()
    }

    /// The index of `key`'s entry in ``keys`` and ``values``, if there is one.
    @inlinable
    @inline(__always)
    func index(of key: Key) -> Int? {
        let slots = self.slots
        let keys = self.keys
        var slot = Int(truncatingIfNeeded: KeyHashing.hash(key) >> UInt64(shift))
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            if keys[entry &- 1] == key { return entry &- 1 }
            slot = (slot &+ 1) & mask
        }
    }

    /// Adds `value` under `key` (which must not be present) and returns its index.
    @inlinable
    @discardableResult
    func insert(_ key: Key, _ value: Value) -> Int {
        if count == capacity { grow(to: capacity * 2) }
        var slot = Int(truncatingIfNeeded: KeyHashing.hash(key) >> UInt64(shift))
        while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        (keys + count).initialize(to: key)
        (values + count).initialize(to: value)
        count &+= 1
        slots[slot] = Int32(truncatingIfNeeded: count)
        return count &- 1
    }

    /// Makes room for `count` more entries without growing one step at a time.
    func reserve(_ count: Int) {
        var target = capacity
        while target < self.count + count { target *= 2 }
        if target > capacity { grow(to: target) }
    }

    /// The keys, in insertion order; valid until the next insert.
    var keyBuffer: UnsafeBufferPointer<Key> { UnsafeBufferPointer(start: keys, count: count) }

    /// The values, aligned with ``keyBuffer``; valid until the next insert.
    var valueBuffer: UnsafeBufferPointer<Value> { UnsafeBufferPointer(start: values, count: count) }

    /// Moves the entries to storage for `newCapacity` of them and puts every key back in a slot.
    @usableFromInline
    func grow(to newCapacity: Int) {
        // Slots hold entry indices plus one as 32-bit integers.
        precondition(newCapacity < Int(Int32.max), "a key table of more than \(Int32.max - 1) keys")
        let newKeys = UnsafeMutablePointer<Key>.allocate(capacity: newCapacity)
        newKeys.moveInitialize(from: keys, count: count)
        keys.deallocate()
        keys = newKeys
        let newValues = UnsafeMutablePointer<Value>.allocate(capacity: newCapacity)
        newValues.moveInitialize(from: values, count: count)
        values.deallocate()
        values = newValues
        capacity = newCapacity
        var slotCount = mask + 1
        while slotCount * 3 < newCapacity * 4 { slotCount *= 2 }
        slots.deallocate()
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        mask = slotCount - 1
        shift = 64 - slotCount.trailingZeroBitCount
        for index in 0..<count {
            var slot = Int(truncatingIfNeeded: KeyHashing.hash(keys[index]) >> UInt64(shift))
            while slots[slot] != 0 { slot = (slot &+ 1) & mask }
            slots[slot] = Int32(truncatingIfNeeded: index + 1)
        }
    }
}

extension KeyTable {
    /// Adds `element` to the accumulator of `key`, which starts from it if the key is new; returns
    /// the index of the key's entry.
    @inlinable
    @inline(__always)
    @discardableResult
    func accumulate<A: Aggregation>(_ element: A.Input, key: Key, with aggregation: A) -> Int
    where A.Accumulator == Value {
        if let index = index(of: key) {
            aggregation.add(element, to: &values[index])
            return index
        }
        return insert(key, aggregation.accumulator(for: element))
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
