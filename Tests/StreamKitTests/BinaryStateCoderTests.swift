import Foundation
import Testing

@testable import StreamKit

@Suite struct BinaryStateCoderTests {
    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case box(width: Int, height: Int)
        case none
    }

    struct Sample: Codable, Equatable {
        var name: String
        var count: Int
        var ratio: Double
        var flag: Bool
        var missing: String?
        var present: Int?
        var list: [Int?]
        var byName: [String: [Double]]
        var byNumber: [Int64: String]
        var shapes: [Shape]
        var times: [Timestamp]
        var nested: [[UInt8]]
    }

    @Test func roundTripsStructsOptionalsEnumsAndDictionaries() throws {
        let sample = Sample(
            name: "Sensor 1 — Küche",
            count: -42,
            ratio: 0.1 + 0.2,
            flag: true,
            missing: nil,
            present: 0,
            list: [1, nil, -3, Int.max, Int.min],
            byName: ["a": [1.5, -0.0], "": []],
            byNumber: [7: "seven", -1: ""],
            shapes: [.circle(radius: 2), .box(width: 3, height: 4), .none],
            times: [.min, .max, try Timestamp(iso8601: "2024-01-01T00:00:00.000001Z")],
            nested: [[], [0, 255]]
        )
        let bytes = try BinaryStateCoder.encode(sample)
        #expect(try BinaryStateCoder.decode(Sample.self, from: bytes) == sample)
        #expect(bytes.count < (try JSONEncoder().encode(sample)).count)
    }

    @Test func keyedStateStoresRoundTrip() throws {
        var store = KeyedStateStore<String, [Int64: Double]>()
        store["a"] = [10: 1.5, 20: 2]
        store["b"] = [:]
        let decoded = try BinaryStateCoder.decode(
            KeyedStateStore<String, [Int64: Double]>.self,
            from: try BinaryStateCoder.encode(store)
        )
        #expect(decoded.entries == store.entries)
    }

    @Test func truncatedOrWrongInputIsAnErrorNotACrash() throws {
        let bytes = try BinaryStateCoder.encode(["a": 1, "b": 2])
        #expect(throws: (any Error).self) {
            try BinaryStateCoder.decode([String: Int].self, from: Array(bytes.prefix(5)))
        }
        #expect(throws: (any Error).self) { try BinaryStateCoder.decode([Int].self, from: bytes) }
    }
}
