/// A CSV field that does not hold what the row's decoder asked for: the row goes to the source's
/// error output with this as its reason.
public struct CSVFieldError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The column, counting from 1.
    public var column: Int
    /// The column's name in the header.
    public var name: String
    /// What the field should hold.
    public var expected: String
    /// The field's text.
    public var found: String

    /// Creates the error.
    public init(column: Int, name: String, expected: String, found: String) {
        self.column = column
        self.name = name
        self.expected = expected
        self.found = found
    }

    /// For example: `column 3 'value': expected a finite number, found 'abc'`.
    public var description: String {
        // Concatenation, not interpolation: a file with many bad rows builds one of these per row.
        let shown = found.utf8.count > 60 ? String(found.prefix(60)) + "…" : found
        return "column " + String(column) + " '" + name + "': expected " + expected + ", found '" + shown + "'"
    }
}
