import StreamKit

/// An hour that arrived after its period was closed for good (later than the allowed lateness
/// after the period's end): it is in none of that period's totals, and is reported here instead.
public struct LateRow: Sendable, Hashable {
    /// The table that could not count it: `days`, `weeks` or `months`.
    public var table: String
    /// The hour.
    public var row: FlowRow

    /// A late hour of `table`.
    public init(table: String, row: FlowRow) {
        self.table = table
        self.row = row
    }
}
