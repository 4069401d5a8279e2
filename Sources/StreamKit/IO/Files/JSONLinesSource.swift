import Foundation

/// A source that reads a JSON Lines file: one JSON value per line, decoded into `Element`.
///
/// Lines are decoded by ``FlatJSONDecoder`` (the fast path, for flat objects) and, when `Element`
/// reads nested objects or arrays, by Foundation's `JSONDecoder`. A line that does not decode (not
/// JSON, bytes that are not UTF-8, a number that is not finite such as `1e999`, a missing field)
/// goes to the source's ``DataStream/errors`` output with the file, the line number, the reason and
/// the raw text, as in ``CSVSource``; the rest of the file is read on.
///
/// ```swift
/// let readings = pipeline.source(JSONLinesSource<Reading>(path: "readings.jsonl"))
/// readings.errors.sink(rejected)
/// ```
public struct JSONLinesSource<Element: Decodable & Sendable>: Source {
    /// The file's path.
    public let path: String

    /// Creates a source for the file at `path`.
    public init(path: String) {
        self.path = path
    }

    /// The file, by its absolute path: a checkpoint of another file is not restored.
    public var identity: String? { "file '\(URL(fileURLWithPath: path).standardizedFileURL.path)'" }

    /// Opens the file.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` if it cannot be opened.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(base: try LineFileReader(path: path, decoder: JSONLineDecoder(), origin: context.name))
    }

    /// Reads and decodes lines.
    public struct Reader: SourceReader {
        var base: LineFileReader<JSONLineDecoder<Element>>

        /// Reads up to `maximumCount` lines.
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

/// Decodes a line with ``JSONRecordDecoder``.
struct JSONLineDecoder<Element: Decodable & Sendable>: LineDecoder {
    var hasHeader: Bool { false }
    private let decoder = JSONRecordDecoder<Element>()

    mutating func header(_ line: UnsafeBufferPointer<UInt8>) throws {}

    mutating func decode(_ line: UnsafeBufferPointer<UInt8>) throws -> Element {
        try decoder.decode(UnsafeRawBufferPointer(line))
    }
}
