import Foundation

/// A row of one of the example's tables: written as CSV and JSON with the same snake_case
/// columns, keyed so that a later row of the same key (a period emitted again after a correction,
/// an hour judged again) replaces the earlier.
public protocol TableRow: Sendable, Codable {
    /// The key: a later row with the same key replaces the earlier one.
    var tableKey: String { get }
    /// Whether the row stays in the table (a row that is not kept removes its key).
    var isKept: Bool { get }
    /// The table's order.
    static func ordered(_ lhs: Self, _ rhs: Self) -> Bool
    /// The columns, in snake_case: the CSV header and the JSON keys.
    static var columns: [String] { get }
    /// The row's values, one per column.
    var fields: [TableValue] { get }
}

/// One value of a table row, written the same way in CSV and JSON.
public enum TableValue: Sendable, Hashable {
    /// Text: a JSON string.
    case text(String)
    /// A number: integers without a fraction (`2953`), others as Swift prints them (`2293.5`).
    case number(Double)
    /// A value that has no number, such as the ratio to a zero baseline: `text` in CSV, `null`
    /// in JSON.
    case missing(String)

    /// The value as a CSV field.
    public var csv: String {
        switch self {
        case .text(let text), .missing(let text): text
        case .number(let number): PeriodRow.number(number)
        }
    }

    /// The value as JSON.
    public var json: String {
        switch self {
        case .text(let text):
            var quoted = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                case "\n": quoted += "\\n"
                case "\r": quoted += "\\r"
                case "\t": quoted += "\\t"
                case _ where scalar.value < 0x20: quoted += String(format: "\\u%04x", scalar.value)
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "\""
        case .number(let number): return number.isFinite ? PeriodRow.number(number) : "null"
        case .missing: return "null"
        }
    }
}

extension TableRow {
    /// Every row is kept.
    public var isKept: Bool { true }

    /// The CSV header: the columns.
    public static var csvHeader: String { columns.joined(separator: ",") }

    /// The row as a CSV line.
    public var csvLine: String { fields.map(\.csv).joined(separator: ",") }

    /// The row as a JSON object on one line, its keys in column order.
    public var jsonObject: String {
        "{" + zip(Self.columns, fields).map { "\"\($0)\": \($1.json)" }.joined(separator: ", ") + "}"
    }
}

/// Writes `rows` to `path.csv` and `path.json` (an array of objects, one a line, with the CSV's
/// columns as keys).
func writeTable<Row: TableRow>(_ rows: [Row], to path: String) throws {
    let csv = ([Row.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
    try csv.write(toFile: path + ".csv", atomically: true, encoding: .utf8)
    let json = rows.isEmpty ? "[]\n" : "[\n" + rows.map { "  " + $0.jsonObject }.joined(separator: ",\n") + "\n]\n"
    try json.write(toFile: path + ".json", atomically: true, encoding: .utf8)
}
