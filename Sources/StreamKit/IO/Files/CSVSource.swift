import Foundation

/// A source that reads a CSV file with a header line, decoding each row into `Element`: by column
/// name for a `Decodable` element, or with a closure over the row's fields (the fastest path).
///
/// Fields are separated by `separator` (a comma by default) and may be quoted with `"`, with `""`
/// for a quote inside a quoted field; a quoted field cannot span lines. For a `Decodable` element,
/// each property is read from the column of the same name (use `CodingKeys` to map other names).
/// Numbers, booleans, strings and ``Timestamp`` (ISO 8601, or microseconds since 1970) decode from
/// the text; an empty field decodes as `nil` for an optional property. The file is read in blocks
/// of 1 MiB and each row is decoded in place, without a `String` per field.
///
/// A row that does not decode (a missing column, text where a number belongs, too many fields,
/// bytes that are not UTF-8, a NUL byte, a number that is not finite such as `1e999` or `nan`) goes
/// to the source's ``DataStream/errors`` output with the file, line number, reason and raw text, as
/// in ``JSONLinesSource``.
///
/// ```swift
/// struct Flow: Decodable, Sendable { var Datetime: String; var AT_CH_MWh: Double }
/// let flows = pipeline.source(CSVSource<Flow>(path: "flows.csv"))
///
/// // The same rows read by position, two to three times faster:
/// let fast = pipeline.source(
///     CSVSource(path: "flows.csv") { row in Flow(Datetime: row.string(0), AT_CH_MWh: try row.double(1)) })
/// ```
public struct CSVSource<Element: Sendable>: Source {
    /// The file's path.
    public let path: String
    /// The field separator.
    public let separator: UInt8
    /// Turns a row into an element, or throws why it cannot.
    let decodeRow: @Sendable (CSVRow) throws -> Element

    /// Creates a source for the CSV file at `path` whose rows `decode` turns into elements.
    ///
    /// A row for which `decode` throws goes to the error output with the error's description as
    /// the reason (``CSVRow``'s accessors throw ``CSVFieldError``, which names the column).
    /// - Parameters:
    ///   - path: The file.
    ///   - separator: The field separator, an ASCII character.
    ///   - decode: Makes an element from a row; the row is valid only while it runs.
    public init(
        path: String,
        separator: Character = ",",
        decode: @escaping @Sendable (CSVRow) throws -> Element
    ) {
        self.path = path
        self.separator = separator.asciiValue ?? UInt8(ascii: ",")
        self.decodeRow = decode
    }

    /// The file, by its absolute path: a checkpoint of another file is not restored.
    public var identity: String? { "file '\(URL(fileURLWithPath: path).standardizedFileURL.path)'" }

    /// Opens the file.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` if it cannot be opened.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(
            base: try LineFileReader(
                path: path,
                decoder: CSVLineDecoder(separator: separator, decodeRow: decodeRow),
                origin: context.name
            )
        )
    }

    /// Reads and decodes rows.
    public struct Reader: SourceReader {
        var base: LineFileReader<CSVLineDecoder<Element>>

        /// Reads up to `maximumCount` rows.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            try await base.read(maximumCount: maximumCount)
        }

        /// The byte offset and number of the next line.
        public var position: SourcePosition? { base.position }

        /// Continues at a checkpointed line.
        public mutating func seek(to position: SourcePosition) async throws {
            try await base.seek(to: position)
        }
    }
}

extension CSVSource where Element: Decodable {
    /// Creates a source for the CSV file at `path` whose rows decode into `Element` by column name.
    /// - Parameters:
    ///   - path: The file.
    ///   - separator: The field separator, an ASCII character.
    public init(path: String, separator: Character = ",") {
        self.init(path: path, separator: separator) { row in try Element(from: CSVRowDecoder(row: row)) }
    }
}
