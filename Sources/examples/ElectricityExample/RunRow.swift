import StreamKit

/// A run of consecutive local days on which Switzerland was a net importer (imports at least
/// exports) or a net exporter, derived from the daily rows.
public struct RunRow: Sendable, Codable, Hashable {
    /// Which way the days went.
    public enum Kind: String, Sendable, Codable, Hashable {
        /// Imports at least exports on every day of the run.
        case netImport = "net_import"
        /// Exports above imports on every day of the run.
        case netExport = "net_export"
    }

    /// Which way the days went.
    public var kind: Kind
    /// The first day, such as `2021-06-15`.
    public var first: String
    /// The last day.
    public var last: String
    /// How many days.
    public var days: Int
    /// The net import over the run (MWh): positive for net-import runs, negative for net-export runs.
    public var netImport: Double

    /// Creates a row.
    public init(kind: Kind, first: String, last: String, days: Int, netImport: Double) {
        self.kind = kind
        self.first = first
        self.last = last
        self.days = days
        self.netImport = netImport
    }

    /// Every maximal run in `days` (daily rows in order). A day missing from the rows (no data at
    /// all) ends a run, as does a day the other way.
    public static func runs(in days: [PeriodRow]) -> [RunRow] {
        var runs: [RunRow] = []
        var previousEnd: Timestamp?
        for day in days {
            let kind: Kind = day.netImport >= 0 ? .netImport : .netExport
            if var run = runs.last, run.kind == kind, previousEnd == day.start {
                run.last = day.period
                run.days += 1
                run.netImport += day.netImport
                runs[runs.count - 1] = run
            } else {
                runs.append(RunRow(kind: kind, first: day.period, last: day.period, days: 1, netImport: day.netImport))
            }
            previousEnd = day.end
        }
        return runs
    }

    /// The longest run of `kind` (the earliest of equally long ones).
    public static func longest(_ kind: Kind, in runs: [RunRow]) -> RunRow? {
        runs.filter { $0.kind == kind }.max { $0.days < $1.days }
    }
}

extension RunRow: TableRow {
    /// One row per run.
    public var tableKey: String { first }
    /// Ordered by the first day.
    public static func ordered(_ lhs: RunRow, _ rhs: RunRow) -> Bool { lhs.first < rhs.first }

    /// The columns.
    public static let columns = ["kind", "first", "last", "days", "net_import"]

    /// The row's values.
    public var fields: [TableValue] {
        [.text(kind.rawValue), .text(first), .text(last), .number(Double(days)), .number(netImport)]
    }
}
