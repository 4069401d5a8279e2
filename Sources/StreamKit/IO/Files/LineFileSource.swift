import Foundation

/// How a line-oriented file source turns a line into an element.
protocol LineDecoder {
    associatedtype Element: Sendable
    /// Reads the header line, for formats that have one.
    mutating func header(_ line: UnsafeBufferPointer<UInt8>) throws
    /// Decodes one line (mutating, so that a decoder may keep scratch space between lines).
    mutating func decode(_ line: UnsafeBufferPointer<UInt8>) throws -> Element
    /// Whether the first line is a header.
    var hasHeader: Bool { get }
}

/// Reads a file line by line, decodes each line, and sends the lines that fail to decode to the
/// error output with the file, line number, reason and raw text. Empty lines are skipped.
struct LineFileReader<Decoder: LineDecoder>: SourceReader {
    typealias Element = Decoder.Element
    var lines: FileLineReader
    var decoder: Decoder
    let origin: String
    private var headerRead = false

    init(path: String, decoder: Decoder, origin: String) throws {
        self.lines = try FileLineReader(path: path)
        self.decoder = decoder
        self.origin = origin
    }

    /// The byte offset and number of the next line.
    var position: SourcePosition? {
        SourcePosition(["offset": lines.offset, "line": Int64(lines.lineNumber), "header": headerRead ? 1 : 0])
    }

    /// Continues at a checkpointed line; re-reads the header first if the format has one.
    mutating func seek(to position: SourcePosition) async throws {
        let offset = position.offsets["offset"] ?? 0
        let line = Int(position.offsets["line"] ?? 1)
        let size = (try? FileManager.default.attributesOfItem(atPath: lines.path)[.size] as? NSNumber)?.int64Value ?? 0
        guard offset <= size else {
            throw StreamKitError(
                code: .checkpoint,
                message: "'\(lines.path)' has \(size) bytes, fewer than the checkpointed offset \(offset): it was "
                    + "replaced or truncated since the checkpoint; put the file back, or start fresh"
            )
        }
        if decoder.hasHeader && offset > 0 {
            lines.seek(offset: 0, lineNumber: 1)
            guard let (header, _) = try lines.nextLine() else {
                throw StreamKitError(
                    code: .decoding,
                    message: "'\(lines.path)' is empty: a CSV file needs a header line"
                )
            }
            try decoder.header(header)
            headerRead = true
        }
        lines.seek(offset: offset, lineNumber: line)
    }

    mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
        var elements: [Element] = []
        var errors: [ErrorRecord] = []
        elements.reserveCapacity(maximumCount)
        let path = lines.path
        if decoder.hasHeader && !headerRead {
            headerRead = true
            guard let (header, _) = try lines.nextLine() else {
                throw StreamKitError(code: .decoding, message: "'\(path)' is empty: a CSV file needs a header line")
            }
            try decoder.header(header)
        }
        while elements.count + errors.count < maximumCount, let (line, number) = try lines.nextLine() {
            if line.isEmpty { continue }
            do {
                elements.append(try decoder.decode(line))
            } catch {
                errors.append(
                    ErrorRecord(origin: origin, reason: describe(error), raw: Array(line), location: path, line: number)
                )
            }
        }
        if elements.isEmpty && errors.isEmpty { return .end }
        return .chunk(SourceChunk(elements: elements, errors: errors))
    }
}
