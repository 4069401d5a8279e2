import Foundation
import StreamKit
import Testing

@Suite struct SessionWindowTests {
    @Test func elementsCloserThanTheGapFormOneSession() async throws {
        let (rows, _) = try await windowRows(
            [reading("a", 0, 1), reading("a", 5, 2), reading("a", 14, 4), reading("a", 40, 8)],
            window: .session(gap: .seconds(10))
        )
        #expect(rows == [Row("a", 0, 24, count: 3, sum: 7), Row("a", 40, 50, count: 1, sum: 8)])
    }

    @Test func anOutOfOrderElementBridgesTwoSessions() async throws {
        let (rows, _) = try await windowRows(
            [reading("a", 0, 1), reading("a", 30, 2), reading("a", 22, 4), reading("a", 8, 8)],
            window: .session(gap: .seconds(10)),
            bound: .seconds(30)
        )
        // 0 -> [0,10); 30 -> [30,40); 22 -> [22,32) merges into [22,40); 8 -> [8,18) merges with [0,10).
        #expect(rows.sorted() == [Row("a", 0, 18, count: 2, sum: 9), Row("a", 22, 40, count: 2, sum: 6)])
    }

    @Test func sessionsArePerKey() async throws {
        let (rows, _) = try await windowRows(
            [reading("a", 0, 1), reading("b", 5, 2), reading("a", 8, 4), reading("a", 19, 8)],
            window: .session(gap: .seconds(10))
        )
        // For "a": 0 and 8 are within the gap, 19 is 11 s after 8, so it opens a new session.
        #expect(
            rows.sorted() == [
                Row("a", 0, 18, count: 2, sum: 5), Row("a", 19, 29, count: 1, sum: 8),
                Row("b", 5, 15, count: 1, sum: 2),
            ]
        )
    }

    @Test func aLateElementForAClosedSessionGoesToTheLateOutput() async throws {
        let (rows, late) = try await windowRows(
            [reading("a", 0, 1), reading("a", 100, 2), reading("a", 3, 4)],
            window: .session(gap: .seconds(10))
        )
        #expect(rows == [Row("a", 0, 10, count: 1, sum: 1), Row("a", 100, 110, count: 1, sum: 2)])
        #expect(late == [reading("a", 3, 4)])
    }
}

@Suite struct CalendarWindowTests {
    let zurich = TimeZone(identifier: "Europe/Zurich")!

    func hourly(from start: String, hours: Int) throws -> [Reading] {
        let first = try Timestamp(iso8601: start)
        return (0..<hours).map { Reading(sensor: "CH", time: first + .hours(Int64($0)), value: 1) }
    }

    @Test func springForwardDayHas23Hours() async throws {
        // 2024-03-31 in Zurich: 2024-03-30T23:00Z to 2024-03-31T22:00Z.
        let readings = try hourly(from: "2024-03-30T23:00:00Z", hours: 23)
        let (rows, _) = try await windowRows(readings, window: .days(in: zurich))
        #expect(rows.count == 1)
        #expect(rows.first?.count == 23)
        let day = try #require(rows.first)
        #expect(day.end - day.start == 23 * 3600.0)
        #expect(rows.first?.start == Double(try Timestamp(iso8601: "2024-03-30T23:00:00Z").microseconds) / 1e6)
    }

    @Test func fallBackDayHas25Hours() async throws {
        // 2024-10-27 in Zurich: 2024-10-26T22:00Z to 2024-10-27T23:00Z.
        let readings = try hourly(from: "2024-10-26T22:00:00Z", hours: 26)
        let (rows, _) = try await windowRows(readings, window: .days(in: zurich))
        #expect(rows.map(\.count) == [25, 1])
        let day = try #require(rows.first)
        #expect(day.end - day.start == 25 * 3600.0)
    }

    @Test func isoWeeksRunMondayToMondayAcrossTheYearBoundary() async throws {
        // Local noon every day from Saturday 2020-12-26 to Wednesday 2021-01-06.
        let first = try Timestamp(iso8601: "2020-12-26T12:00:00+01:00")
        let readings = (0..<12).map { Reading(sensor: "CH", time: first + .hours(24 * Int64($0)), value: 1) }
        let (rows, _) = try await windowRows(readings, window: .weeks(in: zurich))
        #expect(rows.map(\.count) == [2, 7, 3])
        let mondays = try ["2020-12-21T00:00:00+01:00", "2020-12-28T00:00:00+01:00", "2021-01-04T00:00:00+01:00"]
            .map { Double(try Timestamp(iso8601: $0).microseconds) / 1e6 }
        #expect(rows.map(\.start) == mondays)
    }

    @Test func monthsHaveTheirCalendarLength() async throws {
        let first = try Timestamp(iso8601: "2024-02-01T00:00:00+01:00")
        let readings = (0..<(29 + 31)).map { Reading(sensor: "CH", time: first + .hours(24 * Int64($0)), value: 1) }
        let (rows, _) = try await windowRows(readings, window: .months(in: zurich))
        #expect(rows.map(\.count) == [29, 31])
        // March 2024 has 31 days minus the hour lost on the 31st.
        let march = try #require(rows.last)
        #expect(march.end - march.start == (31 * 24 - 1) * 3600.0)
    }
}
