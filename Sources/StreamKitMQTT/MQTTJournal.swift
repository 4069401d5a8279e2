import Foundation
import Logging
import StreamKit
import Synchronization

/// The write-ahead log behind an ``MQTTSource`` with a journal (see ``MQTTJournalConfiguration``).
///
/// Positions are byte offsets counted from the first message the journal ever held, across its
/// segments; a segment's file is named after the offset of its first byte
/// (`00000000000000004096.journal`), so offsets never restart while one segment is left. A record
/// is a header of its body's length and CRC-32 (both 32-bit little-endian) followed by the body:
/// the arrival time (microseconds, 64-bit), the QoS, the retained flag, the topic's length (16-bit),
/// the topic and the payload. A record cut short or changed by a crash is detected by its length or
/// checksum when the journal opens, and the segment is truncated before it: that record's
/// acknowledgement never left, so the broker sends it again.
///
/// One thread appends (the connection's network thread); readers on other tasks read records up to
/// an offset the appender has passed. Every mutable property is guarded by `state`.
final class MQTTJournal: Sendable {
    private struct State {
        /// The first offsets of the segments, ascending; the last one is being appended to.
        var segments: [Int64]
        var descriptor: Int32
        var end: Int64
        var lastSync: ContinuousClock.Instant
        var unsynced = false
        var failure: StreamKitError?
        var closed = false
    }

    static let headerSize = 8
    static let fileSuffix = ".journal"

    let directory: String
    let configuration: MQTTJournalConfiguration
    private let state: Mutex<State>

    /// Opens the journal in `configuration.directory`, creating it when missing, and truncates a
    /// record that a crash cut short.
    /// - Throws: ``StreamKitError`` (`io`) when the folder or a segment cannot be created or read.
    init(_ configuration: MQTTJournalConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let directory = configuration.directory
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Self.ioError("cannot create the journal folder \(directory)", underlying: error)
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw Self.ioError("cannot list the journal folder \(directory)", underlying: error)
        }
        var segments = names.compactMap(Self.base(ofFileNamed:)).sorted()
        if segments.isEmpty {
            segments = [0]
            try Self.createSegment(directory: directory, base: 0)
        }
        let last = segments[segments.count - 1]
        let path = Self.path(directory: directory, base: last)
        let valid = try Self.validLength(ofSegmentAt: path)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Self.ioError("cannot open the journal segment \(path): \(Self.errnoText())")
        }
        var size = stat()
        fstat(descriptor, &size)
        if Int64(size.st_size) > valid {
            logger.warning(
                "MQTT journal: removing an incomplete record at its end, left by a crash (never acknowledged to the broker)",
                metadata: ["segment": "\(path)", "bytes": "\(Int64(size.st_size) - valid)"]
            )
            guard ftruncate(descriptor, off_t(valid)) == 0, fsync(descriptor) == 0 else {
                Foundation.close(descriptor)
                throw Self.ioError("cannot truncate the journal segment \(path): \(Self.errnoText())")
            }
        }
        state = Mutex(State(segments: segments, descriptor: descriptor, end: last + valid, lastSync: .now))
    }

    deinit {
        state.withLock { state in
            if !state.closed { Foundation.close(state.descriptor) }
        }
    }

    /// The offset of the oldest record the journal still holds.
    var start: Int64 { state.withLock { $0.segments[0] } }

    /// The offset after the newest record.
    var end: Int64 { state.withLock { $0.end } }

    /// Why the journal stopped taking records, if it did.
    var failure: StreamKitError? { state.withLock { $0.failure } }

    // MARK: Appending (the network thread)

    /// Writes `message` and returns the offset after it. The bytes are in the operating system when
    /// this returns (and on the disk with ``MQTTJournalConfiguration/syncInterval`` `.zero`).
    /// - Throws: ``StreamKitError`` (`io`) when the write fails; the journal then refuses every
    ///   later record.
    func append(_ message: MQTTMessage) throws -> Int64 {
        // The topic's UTF-8 bytes in place (a native string stores them contiguously): no array
        // per message on the network thread.
        var topic = message.topic
        return try topic.withUTF8 { topic in
            try append(topic: UnsafeRawBufferPointer(topic), message: message)
        }
    }

    private func append(topic: UnsafeRawBufferPointer, message: MQTTMessage) throws -> Int64 {
        let bodySize = 12 + topic.count + message.payload.count
        return try withUnsafeTemporaryAllocation(byteCount: Self.headerSize + bodySize, alignment: 8) { record in
            record.storeBytes(of: UInt32(bodySize).littleEndian, toByteOffset: 0, as: UInt32.self)
            record.storeBytes(of: message.receivedAt.microseconds.littleEndian, toByteOffset: 8, as: Int64.self)
            record[16] = UInt8(message.qos.rawValue)
            record[17] = message.retained ? 1 : 0
            record.storeBytes(
                of: UInt16(truncatingIfNeeded: topic.count).littleEndian,
                toByteOffset: 18,
                as: UInt16.self
            )
            if let base = topic.baseAddress {
                (record.baseAddress! + 20).copyMemory(from: base, byteCount: topic.count)
            }
            message.payload.withUnsafeBytes { payload in
                if let base = payload.baseAddress {
                    (record.baseAddress! + 20 + topic.count).copyMemory(from: base, byteCount: payload.count)
                }
            }
            let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: record[Self.headerSize...]))
            record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
            return try state.withLock { state in
                if let failure = state.failure { throw failure }
                if state.closed { throw Self.ioError("the journal in \(directory) is closed") }
                do {
                    try roll(&state)
                    try Self.writeAll(state.descriptor, UnsafeRawBufferPointer(record))
                    state.end += Int64(record.count)
                    state.unsynced = true
                    if configuration.syncInterval == .zero
                        || ContinuousClock.now - state.lastSync >= configuration.syncInterval
                    {
                        try sync(&state)
                    }
                } catch let error as StreamKitError {
                    state.failure = error
                    throw error
                }
                return state.end
            }
        }
    }

    /// Syncs what was written since the last sync, when ``MQTTJournalConfiguration/syncInterval``
    /// has passed (or `force`).
    func syncIfDue(force: Bool = false) {
        state.withLock { state in
            guard state.unsynced, state.failure == nil, !state.closed,
                force || ContinuousClock.now - state.lastSync >= configuration.syncInterval
            else { return }
            do { try sync(&state) } catch let error as StreamKitError { state.failure = error } catch {}
        }
    }

    private func sync(_ state: inout State) throws {
        guard fdatasync(state.descriptor) == 0 else {
            throw Self.ioError("cannot sync the journal in \(directory): \(Self.errnoText())")
        }
        state.unsynced = false
        state.lastSync = .now
    }

    /// Begins a new segment when the current one is full.
    private func roll(_ state: inout State) throws {
        let base = state.segments[state.segments.count - 1]
        guard state.end - base >= configuration.segmentSize else { return }
        try sync(&state)
        try Self.createSegment(directory: directory, base: state.end)
        let path = Self.path(directory: directory, base: state.end)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Self.ioError("cannot open the journal segment \(path): \(Self.errnoText())")
        }
        Foundation.close(state.descriptor)
        state.descriptor = descriptor
        state.segments.append(state.end)
    }

    // MARK: Reading (the pipeline's task)

    /// Reads up to `maximumCount` records from `offset` (a record boundary) but not past `limit`.
    /// - Returns: The messages and the offset after the last one.
    /// - Throws: ``StreamKitError`` (`io`) when a segment cannot be read or holds a damaged record.
    func read(from offset: Int64, limit: Int64, maximumCount: Int) throws -> (messages: [MQTTMessage], next: Int64) {
        var messages: [MQTTMessage] = []
        var position = offset
        while position < limit && messages.count < maximumCount {
            let segments = state.withLock { $0.segments }
            guard let index = segments.lastIndex(where: { $0 <= position }) else {
                throw Self.ioError(
                    "the journal in \(directory) no longer holds offset \(position): its oldest is \(segments[0])"
                )
            }
            let base = segments[index]
            let segmentLimit = index + 1 < segments.count ? Swift.min(limit, segments[index + 1]) : limit
            let path = Self.path(directory: directory, base: base)
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw Self.ioError("cannot open the journal segment \(path): \(Self.errnoText())")
            }
            defer { Foundation.close(descriptor) }
            let wanted = Int(Swift.min(segmentLimit - position, 1 << 20))
            var chunk = [UInt8](repeating: 0, count: wanted)
            let count = try Self.readAll(descriptor, into: &chunk, at: position - base)
            var cursor = 0
            try chunk.withUnsafeBytes { bytes in
                let bytes = UnsafeRawBufferPointer(rebasing: bytes[..<count])
                while messages.count < maximumCount, let (message, size) = Self.decode(bytes, at: cursor) {
                    messages.append(message)
                    cursor += size
                }
                if cursor == 0 && count > 0 {
                    // A record larger than the chunk: read exactly it.
                    guard count >= Self.headerSize else {
                        throw Self.ioError("the journal segment \(path) ends inside a record at \(position)")
                    }
                    let bodySize = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
                    var record = [UInt8](repeating: 0, count: Self.headerSize + bodySize)
                    let read = try Self.readAll(descriptor, into: &record, at: position - base)
                    guard read == record.count,
                        let (message, size) = record.withUnsafeBytes({ Self.decode($0, at: 0) })
                    else { throw Self.ioError("the journal segment \(path) holds a damaged record at \(position)") }
                    messages.append(message)
                    cursor = size
                }
            }
            if cursor == 0 { break }
            position += Int64(cursor)
        }
        return (messages, position)
    }

    /// Deletes the segments that hold nothing at or after `offset`; the segment being appended to
    /// stays.
    func trim(before offset: Int64) {
        let doomed = state.withLock { state -> [Int64] in
            var doomed: [Int64] = []
            while state.segments.count > 1 && state.segments[1] <= offset {
                doomed.append(state.segments.removeFirst())
            }
            return doomed
        }
        for base in doomed { unlink(Self.path(directory: directory, base: base)) }
    }

    /// Syncs and closes the segment being appended to; later appends fail.
    func close() {
        state.withLock { state in
            guard !state.closed else { return }
            if state.unsynced { _ = fdatasync(state.descriptor) }
            Foundation.close(state.descriptor)
            state.closed = true
        }
    }

    // MARK: Records

    /// The message of the record at `offset` in `bytes`, and the record's size; `nil` when the bytes
    /// end before the record does or its checksum is wrong.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (MQTTMessage, Int)? {
        guard bytes.count - offset >= headerSize + 12 else { return nil }
        let bodySize = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        guard bodySize >= 12, bytes.count - offset - headerSize >= bodySize else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerSize)..<(offset + headerSize + bodySize)])
        guard CRC32.checksum(body) == crc else { return nil }
        let received = Int64(littleEndian: body.loadUnaligned(as: Int64.self))
        let topicSize = Int(UInt16(littleEndian: body.loadUnaligned(fromByteOffset: 10, as: UInt16.self)))
        guard 12 + topicSize <= bodySize else { return nil }
        let message = MQTTMessage(
            topic: String(decoding: body[12..<(12 + topicSize)], as: UTF8.self),
            payload: Array(body[(12 + topicSize)...]),
            qos: MQTTQoS(rawValue: Int(body[8])) ?? .atMostOnce,
            retained: body[9] != 0,
            receivedAt: Timestamp(microseconds: received)
        )
        return (message, headerSize + bodySize)
    }

    /// The length of the longest run of whole, intact records at the start of a segment.
    private static func validLength(ofSegmentAt path: String) throws -> Int64 {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ioError("cannot open the journal segment \(path): \(errnoText())") }
        defer { Foundation.close(descriptor) }
        var valid: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try readAll(descriptor, into: &chunk, at: valid)
            if count == 0 { return valid }
            var cursor = 0
            chunk.withUnsafeBytes { bytes in
                let bytes = UnsafeRawBufferPointer(rebasing: bytes[..<count])
                while let (_, size) = decode(bytes, at: cursor) { cursor += size }
            }
            if cursor == 0 {
                // Either a record larger than the chunk, or the damaged end.
                guard count >= headerSize else { return valid }
                let bodySize = chunk.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
                guard bodySize <= 256 << 20 else { return valid }
                var record = [UInt8](repeating: 0, count: headerSize + bodySize)
                let read = try readAll(descriptor, into: &record, at: valid)
                guard read == record.count, record.withUnsafeBytes({ decode($0, at: 0) }) != nil else { return valid }
                cursor = record.count
            }
            valid += Int64(cursor)
        }
    }

    // MARK: Files

    static func path(directory: String, base: Int64) -> String {
        let digits = String(base)
        return "\(directory)/\(String(repeating: "0", count: Swift.max(0, 20 - digits.count)))\(digits)\(fileSuffix)"
    }

    static func base(ofFileNamed name: String) -> Int64? {
        guard name.hasSuffix(fileSuffix) else { return nil }
        let digits = name.dropLast(fileSuffix.count)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int64(digits)
    }

    private static func createSegment(directory: String, base: Int64) throws {
        let path = path(directory: directory, base: base)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ioError("cannot create the journal segment \(path): \(errnoText())") }
        Foundation.close(descriptor)
        // The new file's name must survive a power loss as well.
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            Foundation.close(folder)
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < bytes.count {
            let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw ioError(
                    "cannot write to the MQTT journal: \(errnoText()); free disk space and restart the pipeline"
                )
            }
            written += result
        }
    }

    private static func readAll(_ descriptor: Int32, into buffer: inout [UInt8], at offset: Int64) throws -> Int {
        var total = 0
        let size = buffer.count
        try buffer.withUnsafeMutableBytes { bytes in
            while total < size {
                let result = pread(descriptor, bytes.baseAddress! + total, size - total, off_t(offset) + off_t(total))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw ioError("cannot read the MQTT journal: \(errnoText())")
                }
                if result == 0 { break }
                total += result
            }
        }
        return total
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func ioError(_ message: String, underlying: (any Error)? = nil) -> StreamKitError {
        StreamKitError(code: .io, message: message, underlying: underlying)
    }
}
