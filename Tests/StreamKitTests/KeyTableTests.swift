import PropertyBased
import Testing

@testable import StreamKit

/// `KeyTable` manages its own memory: it is checked here against `Dictionary`, through growth,
/// `reserve`, and keys that are reference-counted (`String`) as well as plain integers.
@Suite struct KeyTableTests {
    /// Inserts each new key, adds to the value of a key already there, and compares every entry
    /// with a `Dictionary` that did the same.
    static func check<Key: Hashable>(_ keys: [Key], initialCapacity: Int, reserve: Int) {
        let table = KeyTable<Key, Int>(capacity: initialCapacity)
        if reserve > 0 { table.reserve(reserve) }
        var reference: [Key: Int] = [:]
        var order: [Key] = []
        for (position, key) in keys.enumerated() {
            if let index = table.index(of: key) {
                table.values[index] += position
            } else {
                let index = table.insert(key, position)
                #expect(index == order.count)
                order.append(key)
            }
            reference[key, default: 0] += position
        }
        #expect(table.count == reference.count)
        #expect(Array(table.keyBuffer) == order)
        #expect(Array(table.valueBuffer) == order.map { reference[$0]! })
        for (key, value) in reference {
            #expect(table.index(of: key).map { table.values[$0] } == value)
        }
    }

    @Test func matchesADictionaryForIntegerKeys() async {
        await propertyCheck(
            count: 100,
            input: Gen.int(in: -5000...5000).array(of: 0...3000),
            Gen.int(in: 0...64),
            Gen.int(in: 0...2000)
        ) { keys, capacity, reserve in
            Self.check(keys, initialCapacity: capacity, reserve: reserve)
        }
    }

    @Test func matchesADictionaryForStringKeys() async {
        await propertyCheck(
            count: 60,
            input: Gen.int(in: 0...700).array(of: 0...2000),
            Gen.int(in: 0...32)
        ) { numbers, capacity in
            // Long enough not to fit in a String's inline storage: each key is its own allocation.
            Self.check(numbers.map { "sensor-\($0)-of-the-north-building" }, initialCapacity: capacity, reserve: 0)
        }
    }

    @Test func aKeyAbsentFromATableOfCollidingKeysIsNotFound() {
        // Multiples of a large power of two share their low bits; the multiplicative hash spreads
        // them, and a missing key still ends its probe at an empty slot.
        let table = KeyTable<Int, Int>(capacity: 0)
        for key in stride(from: 0, to: 1 << 40, by: 1 << 30) { table.insert(key, 1) }
        #expect(table.count == 1024)
        #expect(table.index(of: 1 << 29) == nil)
        #expect(table.index(of: 5 << 30) == 5)
    }
}
