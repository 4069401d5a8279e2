import Foundation
import StreamKit
import Testing

@Suite struct TimestampTests {
    @Test(
        arguments: [
            ("2024-01-01T13:45:12.123456", 1_704_116_712_123_456),
            ("2024-01-01T13:45:12.123456Z", 1_704_116_712_123_456),
            ("2024-01-01 13:45:12", 1_704_116_712_000_000),
            ("2019-05-01T06:00:00-04:00", 1_556_704_800_000_000),
            ("2019-05-01T06:00:00+05:30", 1_556_670_600_000_000),
            ("2017-01-01T00:00:00+0100", 1_483_225_200_000_000),
            ("1969-12-31T23:59:59.5Z", -500_000),
            ("2024-02-29T00:00Z", 1_709_164_800_000_000),
        ] as [(String, Int64)]
    )
    func parsesISO8601(text: String, microseconds: Int64) throws {
        #expect(try Timestamp(iso8601: text).microseconds == microseconds)
    }

    @Test(arguments: [
        ("2023-02-29T00:00:00Z", "a day that exists"),
        ("2024-13-01T00:00:00Z", "a month 01-12"),
        ("2024-01-01", "'T' between date and time"),
        ("2024-01-01T25:00:00Z", "an hour 00-23"),
        ("2024-01-01T00:00:00+01:00x", "the end of the text"),
        ("yesterday", "a four-digit year"),
    ])
    func rejectsInvalidTextSayingWhatWasExpected(text: String, expected: String) {
        #expect {
            try Timestamp(iso8601: text)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func requiresAnOffsetWhenAskedTo() {
        #expect(throws: StreamKitError.self) {
            try Timestamp(iso8601: "2024-01-01T00:00:00", defaultOffsetSeconds: nil)
        }
    }

    @Test func formatsAsISO8601AndRoundTripsThroughCodable() throws {
        let time = try Timestamp(iso8601: "2024-01-01T13:45:12.123456+01:00")
        #expect(time.iso8601 == "2024-01-01T12:45:12.123456Z")
        let data = try JSONEncoder().encode([time])
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [time])
        #expect(Timestamp(microseconds: -1).iso8601 == "1969-12-31T23:59:59.999999Z")
    }

    @Test func formattingRoundTripsOverRandomInstantsAndYearsOutsideFourDigits() throws {
        var generator = SystemRandomNumberGenerator()
        // Years 0001-9999 take the digit-by-digit path; the text must parse back to the instant.
        let range: ClosedRange<Int64> = -62_135_596_800_000_000...253_402_300_799_999_999
        for _ in 0..<10_000 {
            let time = Timestamp(microseconds: Int64.random(in: range, using: &generator))
            let text = time.iso8601
            #expect(text.utf8.count == 27)
            #expect(try Timestamp(iso8601: text) == time, "\(text)")
        }
        #expect(Timestamp(microseconds: 0).iso8601 == "1970-01-01T00:00:00.000000Z")
        #expect(try Timestamp(iso8601: "9999-12-31T23:59:59.999999Z").iso8601 == "9999-12-31T23:59:59.999999Z")
        // Before year 0 the sign comes first, then four digits.
        let yearZero = try Timestamp(iso8601: "0000-01-01T00:00:00Z")
        #expect((yearZero - .seconds(86_400)).iso8601 == "-0001-12-31T00:00:00.000000Z")
        // Beyond four digits the year is written in full.
        #expect(Timestamp(microseconds: 253_402_300_800_000_000).iso8601 == "10000-01-01T00:00:00.000000Z")
    }

    @Test func arithmeticSaturatesAtTheInfinities() {
        #expect(Timestamp.max + .seconds(1) == .max)
        #expect(Timestamp.min - .seconds(1) == .min)
        #expect(Timestamp(microseconds: .max - 1) + .seconds(1) == .max)
        #expect(at(10) - at(4) == .seconds(6))
    }
}

@Suite struct TimestampInfinityTests {
    @Test func theInfinitiesRoundTripThroughCodable() throws {
        let data = try JSONEncoder().encode([Timestamp.min, Timestamp.max])
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [.min, .max])
        #expect(Timestamp.min.iso8601 == "-inf")
    }
}
