import Foundation
import StreamKit

/// One hour of one flow column judged against its rolling baseline (see ``SpikeRule``): a spike,
/// or, when a correction brought a flagged hour back to normal, the row that clears it.
public struct SpikeRow: Sendable, Codable, Hashable {
    /// The start of the hour, as an instant.
    public var time: Timestamp
    /// The start of the hour on the Swiss clock, such as `2023-01-08T06:00:00+01:00`.
    public var localTime: String
    /// The flow column, such as `FR_CH_MWh`.
    public var column: String
    /// The hour's MWh.
    public var value: Double
    /// The rolling baseline: the column's largest value in the preceding ``SpikeRule/lookbackHours``.
    public var baseline: Double
    /// How many hours the baseline was taken over.
    public var baselineHours: Int
    /// Whether the hour is a spike; `false` only on rows that clear an earlier flag.
    public var isSpike: Bool

    /// Creates a row.
    public init(time: Timestamp, flow: Flow, value: Double, baseline: Double, baselineHours: Int, isSpike: Bool) {
        self.time = time
        self.localTime = Self.localTime(time)
        self.column = flow.column
        self.value = value
        self.baseline = baseline
        self.baselineHours = baselineHours
        self.isSpike = isSpike
    }

    /// The flow in words, such as `France → Switzerland`.
    public var flowLabel: String { Flow(column: column)?.label ?? column }

    /// How many times the baseline the value is (infinite when the baseline is zero).
    public var ratio: Double { value / baseline }

    /// The time on the Swiss clock, with its offset.
    static func localTime(_ time: Timestamp) -> String {
        let date = time.date
        let offset = ElectricityGraph.timeZone.secondsFromGMT(for: date)
        let parts = ElectricityGraph.calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: date
        )
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d",
            parts.year!,
            parts.month!,
            parts.day!,
            parts.hour!,
            parts.minute!,
            parts.second!,
            offset < 0 ? "-" : "+",
            abs(offset) / 3600,
            abs(offset) % 3600 / 60
        )
    }
}

extension SpikeRow: TableRow {
    /// One row per column and hour: a later verdict on the same hour replaces the earlier one.
    public var tableKey: String { "\(column)@\(time.microseconds)" }
    /// Cleared hours leave the table.
    public var isKept: Bool { isSpike }
    /// Ordered by time, then by column.
    public static func ordered(_ lhs: SpikeRow, _ rhs: SpikeRow) -> Bool {
        (lhs.time, lhs.column) < (rhs.time, rhs.column)
    }

    /// The columns: `column` is the flow's column in the period tables (`fr_ch_mwh`), `flow` the
    /// same in words (`France → Switzerland`).
    public static let columns = [
        "time", "local_time", "column", "flow", "value", "baseline", "baseline_hours", "ratio",
    ]

    /// The row's values; the ratio is `inf` in CSV and `null` in JSON when the baseline is zero.
    public var fields: [TableValue] {
        [
            .text(time.iso8601), .text(localTime), .text(Flow(column: column)?.outputColumn ?? column),
            .text(flowLabel),
            .number(value), .number(baseline), .number(Double(baselineHours)),
            baseline > 0 ? .number((ratio * 100).rounded() / 100) : .missing("inf"),
        ]
    }
}
