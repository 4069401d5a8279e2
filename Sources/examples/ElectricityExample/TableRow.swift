import Foundation

/// A row of one of the example's tables: written as CSV and JSON, keyed so that a later row of the
/// same key (a period emitted again after a correction, an hour judged again) replaces the earlier.
public protocol TableRow: Sendable, Codable {
    /// The key: a later row with the same key replaces the earlier one.
    var tableKey: String { get }
    /// Whether the row stays in the table (a row that is not kept removes its key).
    var isKept: Bool { get }
    /// The table's order.
    static func ordered(_ lhs: Self, _ rhs: Self) -> Bool
    /// The CSV header.
    static var csvHeader: String { get }
    /// The row as a CSV line.
    var csvLine: String { get }
}

extension TableRow {
    /// Every row is kept.
    public var isKept: Bool { true }
}

/// Writes `rows` to `path.csv` and `path.json`.
func writeTable<Row: TableRow>(_ rows: [Row], to path: String) throws {
    let csv = ([Row.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
    try csv.write(toFile: path + ".csv", atomically: true, encoding: .utf8)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(rows).write(to: URL(fileURLWithPath: path + ".json"), options: .atomic)
}
