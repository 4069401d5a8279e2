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

/// Decodes a line with ``FlatJSONDecoder``, and with Foundation's `JSONDecoder` when the element
/// reads a nested object or array (which the flat decoder does not decode): both are equally strict
/// about the JSON itself (UTF-8, the number grammar, finite numbers), so a line is accepted or
/// rejected the same way whichever decodes it.
struct JSONLineDecoder<Element: Decodable & Sendable>: LineDecoder {
    var hasHeader: Bool { false }
    /// Set once a line needed `JSONDecoder`: the element has nested values, and every later line
    /// goes straight to it. Lines that are arrays go to it too.
    private var nested = false
    private let flat = FlatJSONDecoder()

    mutating func header(_ line: UnsafeBufferPointer<UInt8>) throws {}

    mutating func decode(_ line: UnsafeBufferPointer<UInt8>) throws -> Element {
        if !nested && line.first(where: { $0 != 0x20 && $0 != 0x09 }) != UInt8(ascii: "[") {
            do {
                return try flat.decode(Element.self, from: UnsafeRawBufferPointer(line))
            } catch let error as DecodingError where FlatJSONDecoder.isNestedValueError(error) {
                nested = true
            }
        }
        return try JSONDecoder().decode(Element.self, from: Data(buffer: line))
    }
}
