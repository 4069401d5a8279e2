import Foundation
import StreamKit

/// A source that reads a ``RawLog`` from its first record, or from a checkpointed position, and
/// then follows it as records become durable.
///
/// It never ends while the log is open: the pipeline stops it. Its position (the byte offset and id
/// of the next record) is part of every checkpoint, so a restarted pipeline processes each stored
/// record once more at most: after the last completed checkpoint. Sinks that upsert by the record id
/// make that exactly once.
///
/// ```swift
/// let log = try RawLog(path: "data/raw.jsonl")
/// let bodies = pipeline.source(RawLogSource(log), name: "raw-log")
/// ```
public struct RawLogSource: Source {
    /// The log.
    public let log: RawLog

    /// Creates a source over `log`.
    public init(_ log: RawLog) {
        self.log = log
    }

    /// Opens the log file for reading.
    public func makeReader(context: SourceContext) async throws -> Reader {
        try Reader(log: log, tickInterval: context.tickInterval, origin: context.name)
    }

    /// Reads durable records of the log, in order.
    public struct Reader: SourceReader {
        let log: RawLog
        let file: ReadableFile
        let tickInterval: Duration
        let origin: String
        var offset: Int64 = 0
        var nextID: Int64 = 1
        var chunkSize = 1 << 20

        init(log: RawLog, tickInterval: Duration, origin: String) throws {
            self.log = log
            self.file = try ReadableFile(path: log.path)
            self.tickInterval = tickInterval
            self.origin = origin
        }

        /// The byte offset and the id of the next record.
        public var position: SourcePosition? { SourcePosition(["offset": offset, "id": nextID]) }

        /// Continues at a checkpointed record.
        public mutating func seek(to position: SourcePosition) async throws {
            guard let offset = position.offsets["offset"], let id = position.offsets["id"] else {
                throw StreamKitError(code: .checkpoint, message: "raw log position \(position) has no offset and id")
            }
            self.offset = offset
            self.nextID = id
        }

        /// Returns the durable records after the position, waiting up to the tick interval for some.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<RawLogRecord> {
            let (end, closed) = await log.durableEnd(after: offset, timeout: tickInterval)
            if end <= offset { return closed ? .end : .tick(.now) }
            var records: [RawLogRecord] = []
            var errors: [ErrorRecord] = []
            let decoder = FlatJSONDecoder()
            while records.count + errors.count < maximumCount && offset < end {
                let length = Int(min(Int64(chunkSize), end - offset))
                let bytes = try file.read(at: offset, count: length, path: log.path)
                guard bytes.count == length else {
                    throw RawLogError(
                        path: log.path,
                        reason:
                            "ends at byte \(offset + Int64(bytes.count)) where \(offset + Int64(length)) was synced: "
                            + "the file was truncated or replaced behind the log"
                    )
                }
                var start = 0
                var consumed = 0
                bytes.withUnsafeBufferPointer { buffer in
                    while records.count + errors.count < maximumCount,
                        let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n"))
                    {
                        let line = UnsafeBufferPointer(rebasing: buffer[start..<newline])
                        do {
                            records.append(
                                try decoder.decode(RawLogLine.self, from: UnsafeRawBufferPointer(line)).record
                            )
                        } catch {
                            errors.append(
                                ErrorRecord(
                                    origin: origin,
                                    reason: "unreadable raw log line: \(error)",
                                    raw: Array(line),
                                    location: "raw-log#\(nextID)",
                                    line: Int(nextID)
                                )
                            )
                        }
                        nextID += 1
                        start = newline + 1
                        consumed = start
                    }
                }
                if consumed == 0 {
                    // One record longer than the chunk: read more at once.
                    chunkSize *= 2
                    continue
                }
                offset += Int64(consumed)
            }
            return .chunk(SourceChunk(elements: records, errors: errors))
        }
    }
}

/// A file opened for positioned reads, closed when the last reader copy goes.
final class ReadableFile: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw RawLogError(path: path, reason: "cannot open for reading: \(errnoText())") }
    }

    func read(at offset: Int64, count: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let result = bytes.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + filled, count - filled, off_t(offset + Int64(filled)))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw RawLogError(path: path, reason: "cannot read: \(errnoText())")
            }
            if result == 0 { break }
            filled += result
        }
        bytes.removeLast(count - filled)
        return bytes
    }

    deinit { close(descriptor) }
}
