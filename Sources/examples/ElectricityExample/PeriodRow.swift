import Foundation
import StreamKit

/// The totals of one period (a local day, an ISO week or a month in Europe/Zurich), as the example
/// reports them.
public struct PeriodRow: Sendable, Codable, Hashable {
    /// The period's name: `2024-03-31` for a day, `2024-W13` for an ISO week, `2024-03` for a month.
    public var period: String
    /// The period's first instant.
    public var start: Timestamp
    /// The instant after the period.
    public var end: Timestamp
    /// MWh per flow column, such as `"CH_IT_MWh": 41_230`.
    public var flows: [String: Double]
    /// MWh into Switzerland.
    public var imports: Double
    /// MWh out of Switzerland.
    public var exports: Double
    /// Imports minus exports: positive when Switzerland imports more than it exports.
    public var netImport: Double
    /// Hours with data.
    public var hours: Int
    /// Hours the period has on the local clock: 23 or 25 on the days the clocks change.
    public var expectedHours: Int
    /// Rows that replaced an earlier row of the same hour (corrections).
    public var replacedRows: Int
    /// The country Switzerland imported most from in the period.
    public var largestImportPartner: String
    /// The country Switzerland exported most to in the period.
    public var largestExportPartner: String

    /// Hours without data.
    public var missingHours: Int { Swift.max(0, expectedHours - hours) }

    /// Makes the row of a window's totals.
    public init(window: Window, totals: FlowTotals.Output, unit: Calendar.Component) {
        // The window starts at local midnight; its date and ISO week by integer arithmetic (a
        // `Calendar` per row costs more than the rest of the row).
        let date = CivilDate(localMidnight: window.start.microseconds)
        switch unit {
        case .weekOfYear:
            let week = date.isoWeek
            period = "\(CivilDate.padded(week.year, 4))-W\(CivilDate.padded(week.week, 2))"
        case .month:
            period = "\(CivilDate.padded(date.year, 4))-\(CivilDate.padded(date.month, 2))"
        default:
            period =
                "\(CivilDate.padded(date.year, 4))-\(CivilDate.padded(date.month, 2))-\(CivilDate.padded(date.day, 2))"
        }
        start = window.start
        end = window.end
        flows = Dictionary(uniqueKeysWithValues: Flow.allCases.map { ($0.column, totals.flows[$0.rawValue]) })
        imports = Flow.allCases.filter(\.isImport).map { totals.flows[$0.rawValue] }.reduce(0, +)
        exports = Flow.allCases.filter { !$0.isImport }.map { totals.flows[$0.rawValue] }.reduce(0, +)
        netImport = imports - exports
        hours = totals.hours
        expectedHours = Int((window.end.microseconds - window.start.microseconds) / 3_600_000_000)
        replacedRows = totals.replaced
        largestImportPartner =
            Flow.allCases.filter(\.isImport).max { totals.flows[$0.rawValue] < totals.flows[$1.rawValue] }!
            .partner
        largestExportPartner =
            Flow.allCases.filter { !$0.isImport }.max {
                totals.flows[$0.rawValue] < totals.flows[$1.rawValue]
            }!.partner
    }

    /// Formats MWh as the tables write them: integers without a fraction (`2953`, `2293.5`).
    public static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension PeriodRow: TableRow {
    /// One row per period: a period emitted again after a correction replaces the earlier row.
    public var tableKey: String { period }
    /// Ordered by start.
    public static func ordered(_ lhs: PeriodRow, _ rhs: PeriodRow) -> Bool { lhs.start < rhs.start }

    /// The columns: the flows as `at_ch_mwh`, …, then the totals.
    public static let columns =
        ["period", "start", "end"] + Flow.allCases.map(\.outputColumn)
        + [
            "imports", "exports", "net_import", "hours", "expected_hours", "missing_hours", "replaced_rows",
            "largest_import_partner", "largest_export_partner",
        ]

    /// The row's values.
    public var fields: [TableValue] {
        [.text(period), .text(start.iso8601), .text(end.iso8601)]
            + Flow.allCases.map { .number(flows[$0.column] ?? 0) }
            + [imports, exports, netImport].map(TableValue.number)
            + [hours, expectedHours, missingHours, replacedRows].map { .number(Double($0)) }
            + [.text(largestImportPartner), .text(largestExportPartner)]
    }
}
