import Foundation
import PropertyBased
import StreamKit
import Testing

/// Windowed aggregates of the engine against a naive reference, over random inputs with disorder,
/// late elements, watermark bounds, allowed lateness, window sizes, batch sizes and workers.
@Suite struct WindowPropertyTests {
    /// The reference: one element at a time, the watermark is the highest time seen before the
    /// element minus the bound, and an element is late when its window ends, plus the allowed
    /// lateness, at or before that watermark.
    static func reference(
        _ readings: [Reading],
        size: Int64,
        bound: Int64,
        lateness: Int64
    ) -> (rows: [Row], late: [Reading]) {
        var highest: Int64?
        var sums: [String: [Int64: (count: Int, sum: Double)]] = [:]
        var late: [Reading] = []
        for reading in readings {
            let time = reading.time.microseconds
            let watermark = highest.map { $0 - bound }
            let start = Int64((Double(time) / Double(size)).rounded(.down)) * size
            if let watermark, start + size + lateness <= watermark {
                late.append(reading)
            } else {
                var entry = sums[reading.sensor, default: [:]][start] ?? (0, 0)
                entry.count += 1
                entry.sum += reading.value
                sums[reading.sensor, default: [:]][start] = entry
            }
            highest = Swift.max(highest ?? .min, time)
        }
        var rows: [Row] = []
        for (key, windows) in sums {
            for (start, entry) in windows {
                rows.append(
                    Row(key, Double(start) / 1e6, Double(start + size) / 1e6, count: entry.count, sum: entry.sum)
                )
            }
        }
        return (rows.sorted(), late)
    }

    /// Random readings: 4 keys, about one reading every 2 s, each up to 40 s out of order.
    static func readings(from seeds: [Int]) -> [Reading] {
        seeds.enumerated().map { index, seed in
            let jitter = Double((seed >> 2) % 41)
            return reading("k\(seed & 3)", Double(index * 2) - jitter, Double(seed % 17))
        }
    }

    @Test func tumblingWindowsMatchTheReference() async {
        await propertyCheck(
            count: 60,
            input: Gen.int(in: 0...1_000_000).array(of: 1...300),
            Gen.int(in: 0...3),
            Gen.int(in: 0...2),
            Gen.int(in: 0...5)
        ) { seeds, boundChoice, latenessChoice, shape in
            let readings = Self.readings(from: seeds)
            let bound: Int64 = [0, 5, 15, 45][boundChoice]
            let lateness: Int64 = [0, 10, 30][latenessChoice]
            let size: Int64 = [10, 60][shape % 2]
            let workers = 1 + shape % 2
            let batchSize = [1, 7, 4096][shape % 3]
            let expected = Self.reference(
                readings,
                size: size * 1_000_000,
                bound: bound * 1_000_000,
                lateness: lateness * 1_000_000
            )
            do {
                let actual = try await windowRows(
                    readings,
                    window: .tumbling(.seconds(size)),
                    bound: .seconds(bound),
                    allowedLateness: .seconds(lateness),
                    workers: workers,
                    batchSize: batchSize
                )
                // With allowed lateness a window may fire again with an update: the last row per
                // key and window is its final value.
                var last: [String: Row] = [:]
                for row in actual.rows { last["\(row.key) \(row.start)"] = row }
                #expect(last.values.sorted() == expected.rows)
                #expect(
                    actual.late.sorted(by: { ($0.sensor, $0.time) < ($1.sensor, $1.time) })
                        == expected.late.sorted(by: { ($0.sensor, $0.time) < ($1.sensor, $1.time) })
                )
            } catch {
                Issue.record(error)
            }
        }
    }

    /// Many keys per window (the key tables grow while elements are added) and elements that
    /// alternate between two open windows near each boundary, as in a real stream: the window
    /// operator's fast path for the elements of its two most recent windows must give the
    /// reference's rows and late elements.
    @Test func manyKeysAcrossWindowBoundariesMatchTheReference() async {
        await propertyCheck(
            count: 30,
            input: Gen.int(in: 0...1_000_000).array(of: 500...3000),
            Gen.int(in: 0...5)
        ) { seeds, shape in
            // 300 keys, a reading every 50 ms, each up to 8 s out of order, 10 s windows.
            let readings = seeds.enumerated().map { index, seed in
                reading("k\(seed % 300)", Double(index) * 0.05 - Double((seed >> 9) % 80) / 10, Double(seed % 17))
            }
            let bound: Int64 = [8, 2][shape % 2]
            let lateness: Int64 = [0, 5, 0][shape % 3]
            let batchSize = [4096, 64, 1][shape % 3]
            let expected = Self.reference(
                readings,
                size: 10_000_000,
                bound: bound * 1_000_000,
                lateness: lateness * 1_000_000
            )
            do {
                let actual = try await windowRows(
                    readings,
                    window: .tumbling(.seconds(10)),
                    bound: .seconds(bound),
                    allowedLateness: .seconds(lateness),
                    batchSize: batchSize
                )
                var last: [String: Row] = [:]
                for row in actual.rows { last["\(row.key) \(row.start)"] = row }
                #expect(last.values.sorted() == expected.rows)
                #expect(actual.late.count == expected.late.count)
            } catch {
                Issue.record(error)
            }
        }
    }

    @Test func sessionWindowsPartitionEachKeysOnTimeElementsByGap() async {
        await propertyCheck(count: 40, input: Gen.int(in: 0...1_000_000).array(of: 1...200)) { seeds in
            let readings = Self.readings(from: seeds)
            do {
                // A bound larger than any disorder: nothing is late, so the sessions of a key are
                // exactly the groups of its sorted times separated by gaps of at least 10 s.
                let actual = try await windowRows(
                    readings,
                    window: .session(gap: .seconds(10)),
                    bound: .seconds(60),
                    workers: 2
                )
                #expect(actual.late.isEmpty)
                var expected: [Row] = []
                for (key, group) in Dictionary(grouping: readings, by: \.sensor) {
                    let sorted = group.sorted { $0.time < $1.time }
                    var current: [Reading] = []
                    func close() {
                        guard let first = current.first, let last = current.last else { return }
                        expected.append(
                            Row(
                                key,
                                Double(first.time.microseconds) / 1e6,
                                Double(last.time.microseconds) / 1e6 + 10,
                                count: current.count,
                                sum: current.reduce(0) { $0 + $1.value }
                            )
                        )
                        current = []
                    }
                    for reading in sorted {
                        if let last = current.last, reading.time.microseconds - last.time.microseconds > 10_000_000 {
                            close()
                        }
                        current.append(reading)
                    }
                    close()
                }
                #expect(actual.rows.sorted() == expected.sorted())
            } catch {
                Issue.record(error)
            }
        }
    }
}
