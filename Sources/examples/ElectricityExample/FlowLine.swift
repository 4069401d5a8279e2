import StreamKit

/// One line of the flows' CSV as it reaches the graph: its text and, when it comes from a file,
/// the file and the line number, which a rejected line keeps in the error output.
public struct FlowLine: Sendable, Hashable, RawRecord {
    /// The line, without its line break.
    public var text: String
    /// The file it was read from, if any.
    public var file: String?
    /// Its line number in the file, from 1 (the header is line 1).
    public var number: Int?

    /// A line, with where it was read when known.
    public init(_ text: String, file: String? = nil, number: Int? = nil) {
        self.text = text
        self.file = file
        self.number = number
    }

    /// The line's bytes.
    public var rawBytes: [UInt8] { Array(text.utf8) }
    /// The file.
    public var rawLocation: String? { file }
    /// The line number.
    public var rawLine: Int? { number }
}
