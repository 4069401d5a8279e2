import StreamKit
import Testing

@Suite struct TumblingWindowTests {
    @Test func elementExactlyAtWindowEndBelongsToTheNextWindow() async throws {
        let (rows, late) = try await windowRows([
            reading("a", 0, 1), reading("a", 59.999999, 2), reading("a", 60, 4),
        ])
        #expect(rows.sorted() == [Row("a", 0, 60, count: 2, sum: 3), Row("a", 60, 120, count: 1, sum: 4)])
        #expect(late.isEmpty)
    }

    @Test func outOfOrderElementInsideTheBoundIsCounted() async throws {
        // Watermark before the last reading: 64 - 5 = 59 < 60, so window [0, 60) is still open.
        let (rows, late) = try await windowRows(
            [reading("a", 10, 1), reading("a", 64, 2), reading("a", 58, 4)],
            bound: .seconds(5)
        )
        #expect(rows.sorted() == [Row("a", 0, 60, count: 2, sum: 5), Row("a", 60, 120, count: 1, sum: 2)])
        #expect(late.isEmpty)
    }

    @Test func outOfOrderElementBeyondTheBoundIsLate() async throws {
        // Watermark before the last reading: 66 - 5 = 61 >= 60: window [0, 60) has fired.
        let (rows, late) = try await windowRows(
            [reading("a", 10, 1), reading("a", 66, 2), reading("a", 58, 4)],
            bound: .seconds(5)
        )
        #expect(rows.sorted() == [Row("a", 0, 60, count: 1, sum: 1), Row("a", 60, 120, count: 1, sum: 2)])
        #expect(late == [reading("a", 58, 4)])
    }

    @Test func elementOutOfOrderByExactlyTheBoundIsOnTime() async throws {
        // Watermark 65 - 5 = 60; the reading at 60 is in [60, 120), which ends after the watermark.
        let (rows, late) = try await windowRows(
            [reading("a", 65, 1), reading("a", 60, 2)],
            bound: .seconds(5)
        )
        #expect(rows == [Row("a", 60, 120, count: 2, sum: 3)])
        #expect(late.isEmpty)
    }

    @Test func lateElementExactlyAtTheLatenessLimitIsLate() async throws {
        // Window [0, 60) with 10 s allowed lateness is kept until the watermark reaches 70.
        let (rows, late) = try await windowRows(
            [reading("a", 10, 1), reading("a", 70, 2), reading("a", 20, 4)],
            allowedLateness: .seconds(10)
        )
        #expect(rows == [Row("a", 0, 60, count: 1, sum: 1), Row("a", 60, 120, count: 1, sum: 2)])
        #expect(late == [reading("a", 20, 4)])
    }

    @Test func lateElementJustInsideTheLatenessUpdatesTheFiredWindow() async throws {
        let (rows, late) = try await windowRows(
            [reading("a", 10, 1), reading("a", 69.999999, 2), reading("a", 20, 4)],
            allowedLateness: .seconds(10)
        )
        // The window fires when the watermark passes 60, then once more with the late reading.
        #expect(
            rows == [
                Row("a", 0, 60, count: 1, sum: 1),
                Row("a", 0, 60, count: 2, sum: 5),
                Row("a", 60, 120, count: 1, sum: 2),
            ]
        )
        #expect(late.isEmpty)
    }

    @Test func keysAreWindowedSeparately() async throws {
        let (rows, _) = try await windowRows([
            reading("a", 1, 1), reading("b", 2, 10), reading("a", 3, 2), reading("b", 61, 20),
        ])
        #expect(
            rows.sorted() == [
                Row("a", 0, 60, count: 2, sum: 3), Row("b", 0, 60, count: 1, sum: 10),
                Row("b", 60, 120, count: 1, sum: 20),
            ]
        )
    }

    @Test func windowsFireInEventTimeOrderAsTheWatermarkPasses() async throws {
        let (rows, _) = try await windowRows(
            (0..<300).map { reading("a", Double($0), 1) }
        )
        #expect(rows.map(\.start) == [0, 60, 120, 180, 240])
        #expect(rows.allSatisfy { $0.count == 60 })
    }

    @Test func slidingWindowsCountAnElementInEveryWindowItBelongsTo() async throws {
        let (rows, _) = try await windowRows(
            [reading("a", 5, 1), reading("a", 25, 2)],
            window: .sliding(size: .seconds(30), slide: .seconds(10))
        )
        #expect(
            rows.sorted() == [
                Row("a", -20, 10, count: 1, sum: 1), Row("a", -10, 20, count: 1, sum: 1),
                Row("a", 0, 30, count: 2, sum: 3), Row("a", 10, 40, count: 1, sum: 2),
                Row("a", 20, 50, count: 1, sum: 2),
            ]
        )
    }

    @Test func slidingWindowsThatSlideByTheirSizeAreTumblingWindows() async throws {
        // Each element is in exactly one window; this once stopped the process (a sliding window
        // with one window per element took the path of calendar windows).
        let readings = (0..<40).map { reading("a", Double($0) * 1.5 - 7, Double($0)) }
        let sliding = try await windowRows(readings, window: .sliding(size: .seconds(10), slide: .seconds(10)))
        let tumbling = try await windowRows(readings, window: .tumbling(.seconds(10)))
        #expect(sliding.rows.sorted() == tumbling.rows.sorted())
        #expect(sliding.rows.map(\.count).reduce(0, +) == 40)
    }

    @Test func negativeTimesFallInTheRightWindow() async throws {
        let (rows, _) = try await windowRows([reading("a", -0.5, 1), reading("a", 0, 2)])
        #expect(rows.sorted() == [Row("a", -60, 0, count: 1, sum: 1), Row("a", 0, 60, count: 1, sum: 2)])
    }

    @Test func twoWorkersGiveTheSameRowsAsOne() async throws {
        var readings: [Reading] = []
        for second in 0..<600 {
            for sensor in 0..<7 {
                readings.append(
                    reading("s\(sensor)", Double(second) - Double((second * 7 + sensor) % 4), Double(sensor))
                )
            }
        }
        let one = try await windowRows(readings, bound: .seconds(2), workers: 1)
        let two = try await windowRows(readings, bound: .seconds(2), workers: 2)
        #expect(one.rows.sorted() == two.rows.sorted())
        #expect(Set(one.late) == Set(two.late))
        #expect(!one.late.isEmpty)
    }
}
