import Foundation
import StreamKit

/// Writes a file in the schema of the Swiss Federal Office of Energy's hourly cross-border flows
/// (ogd107), with its traps, so that the example and its tests run without the real file:
///
/// - offsets without a colon (`2017-01-01T00:00:00+0100`);
/// - local days of 23 and 25 hours, and on each autumn change the rows sorted as strings, so that
///   `02:00:00+0100` comes before `02:00:00+0200` (an hour out of order in UTC);
/// - quarter-hour fractions in the DE columns from August 2021;
/// - incomplete days (hours missing), corrections that repeat an hour later in the file, spikes
///   (FR→CH 20,000 to 24,000 MWh in a random hour now and then, and always
///   ``plantedSpikeMWh`` at 06:00 on day ``plantedSpikeDay``);
/// - realistic magnitudes: net import in winter, net export in summer, CH→IT the largest flow.
public struct FlowFileGenerator: Sendable {
    /// The first local day.
    public var startDay: DateComponents
    /// How many local days.
    public var days: Int
    /// The seed of the random values: the same seed gives the same file.
    public var seed: UInt64

    /// Creates a generator.
    public init(startYear: Int = 2021, startMonth: Int = 1, startDay: Int = 1, days: Int = 365, seed: UInt64 = 7) {
        self.startDay = DateComponents(year: startYear, month: startMonth, day: startDay)
        self.days = days
        self.seed = seed
    }

    /// The file's lines, header first.
    public func lines() -> [String] {
        let calendar = ElectricityGraph.calendar
        var random = SplitMix(seed: seed)
        let first = calendar.date(from: startDay)!
        let end = calendar.date(byAdding: .day, value: days, to: first)!
        var lines: [String] = []
        var corrections: [(after: Int, line: String)] = []
        var dayLines: [String] = []
        var currentDay = calendar.component(.day, from: first)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = ElectricityGraph.timeZone
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZ"  // +0100: no colon, as in the real file
        var hour = first
        var dayIndex = 0
        func flushDay() {
            // The real file sorts each day's rows as strings: at the autumn change 02:00+0100 comes
            // before 02:00+0200.
            lines += dayLines.sorted()
            dayLines = []
        }
        while hour < end {
            let day = calendar.component(.day, from: hour)
            if day != currentDay {
                flushDay()
                currentDay = day
                dayIndex += 1
            }
            let month = calendar.component(.month, from: hour)
            let year = calendar.component(.year, from: hour)
            // Winter: Switzerland imports; summer: it exports.
            let winter = cos(Double(month - 1) / 12 * 2 * .pi)
            var flows = [
                700 + 300 * winter, 2300 + 700 * winter, 900 + 700 * winter, 300 - 100 * winter,
                300 - 150 * winter, 900 - 400 * winter, 600 - 300 * winter, 3400 - 300 * winter,
            ].map { max(0, ($0 * (0.8 + 0.4 * random.unit())).rounded()) }
            if year > 2021 || (year == 2021 && month >= 8) {
                // Quarter-hour fractions in the DE columns.
                flows[1] += Double(random.next() % 4) / 4
                flows[5] += Double(random.next() % 4) / 4
            }
            if random.unit() < 0.0005 { flows[2] = 20_000 + (random.unit() * 4000).rounded() }  // a spike
            if dayIndex == Self.plantedSpikeDay && calendar.component(.hour, from: hour) == 6 {
                flows[2] = Self.plantedSpikeMWh  // the spike the tests look for, as on 8 January 2023
            }
            let missing = dayIndex % 97 == 50 && calendar.component(.hour, from: hour) % 6 == 3
            if !missing {
                let line = Self.line(formatter.string(from: hour), flows)
                dayLines.append(line)
                if random.unit() < 0.001 {
                    // A correction of this hour, later in the file.
                    let corrected = flows.map { ($0 * 1.1).rounded() }
                    corrections.append(
                        (lines.count + dayLines.count + 30, Self.line(formatter.string(from: hour), corrected))
                    )
                }
            }
            hour = hour.addingTimeInterval(3600)
        }
        flushDay()
        for correction in corrections.reversed() where correction.after < lines.count {
            lines.insert(correction.line, at: correction.after)
        }
        return [FlowRow.header] + lines
    }

    /// The day (counted from the first, which is 0) whose 06:00 carries a planted FR→CH spike.
    public static let plantedSpikeDay = 7
    /// The planted spike's MWh: the real file's FR→CH on 8 January 2023 at 06:00.
    public static let plantedSpikeMWh = 23_635.0

    static func line(_ time: String, _ flows: [Double]) -> String {
        let net = flows[0..<4].reduce(0, +) - flows[4..<8].reduce(0, +)
        return ([time] + (flows + [net]).map(PeriodRow.number)).joined(separator: ",")
    }
}

/// A small deterministic random number generator (SplitMix64).
struct SplitMix: Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<1.
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
