/// The peak import and peak export days of a period (a month, or the whole run) and the partner
/// countries Switzerland imported most from and exported most to, derived from the daily rows.
public struct PeakRow: Sendable, Codable, Hashable {
    /// The period: `2023-01` for a month, `all` for the whole run.
    public var period: String
    /// How many days with data the period has.
    public var days: Int
    /// The day with the largest imports (the earliest of equal ones).
    public var peakImportDay: String
    /// Its imports (MWh).
    public var peakImports: Double
    /// The day with the largest exports (the earliest of equal ones).
    public var peakExportDay: String
    /// Its exports (MWh).
    public var peakExports: Double
    /// The country Switzerland imported most from over the period.
    public var largestImportPartner: String
    /// The imports from it (MWh).
    public var largestImports: Double
    /// The country Switzerland exported most to over the period.
    public var largestExportPartner: String
    /// The exports to it (MWh).
    public var largestExports: Double

    /// The peaks of `days` (non-empty), named `period`.
    public init(period: String, days: some Collection<PeriodRow>) {
        precondition(!days.isEmpty, "a period without days has no peaks")
        self.period = period
        self.days = days.count
        // `max(by:)` keeps the first of equal elements: the earliest day.
        let peakImport = days.max { $0.imports < $1.imports }!
        let peakExport = days.max { $0.exports < $1.exports }!
        peakImportDay = peakImport.period
        peakImports = peakImport.imports
        peakExportDay = peakExport.period
        peakExports = peakExport.exports
        var totals = [Double](repeating: 0, count: Flow.allCases.count)
        for day in days {
            for flow in Flow.allCases { totals[flow.rawValue] += day.flows[flow.column] ?? 0 }
        }
        // The first of equal partners, in the file's column order.
        func largest(_ flows: [Flow]) -> Flow {
            flows.max { totals[$0.rawValue] < totals[$1.rawValue] }!
        }
        let importPartner = largest(Flow.allCases.filter(\.isImport))
        let exportPartner = largest(Flow.allCases.filter { !$0.isImport })
        largestImportPartner = importPartner.partner
        largestImports = totals[importPartner.rawValue]
        largestExportPartner = exportPartner.partner
        largestExports = totals[exportPartner.rawValue]
    }

    /// One row per month of `days` (daily rows in order), then one for the whole run (`all`).
    public static func peaks(in days: [PeriodRow]) -> [PeakRow] {
        guard !days.isEmpty else { return [] }
        var rows: [PeakRow] = []
        var start = days.startIndex
        for index in days.indices.dropFirst() where days[index].period.prefix(7) != days[start].period.prefix(7) {
            rows.append(PeakRow(period: String(days[start].period.prefix(7)), days: days[start..<index]))
            start = index
        }
        rows.append(PeakRow(period: String(days[start].period.prefix(7)), days: days[start...]))
        rows.append(PeakRow(period: "all", days: days))
        return rows
    }
}

extension PeakRow: TableRow {
    /// One row per period.
    public var tableKey: String { period }
    /// Months in order, the whole run last.
    public static func ordered(_ lhs: PeakRow, _ rhs: PeakRow) -> Bool {
        (lhs.period == "all" ? 1 : 0, lhs.period) < (rhs.period == "all" ? 1 : 0, rhs.period)
    }

    /// The columns.
    public static let columns = [
        "period", "days", "peak_import_day", "peak_imports", "peak_export_day", "peak_exports",
        "largest_import_partner", "largest_imports", "largest_export_partner", "largest_exports",
    ]

    /// The row's values.
    public var fields: [TableValue] {
        [
            .text(period), .number(Double(days)), .text(peakImportDay), .number(peakImports), .text(peakExportDay),
            .number(peakExports), .text(largestImportPartner), .number(largestImports),
            .text(largestExportPartner), .number(largestExports),
        ]
    }
}
