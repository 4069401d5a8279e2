import CoreMetrics
import Crypto
import Foundation
import StreamKit

/// A durable, append-only log of raw request bodies: the raw store of an HTTP ingest and the
/// replayable source of the pipeline behind it.
///
/// Each record is one JSON line, readable with `jq` or DuckDB as it is:
///
/// ```json
/// {"id":12,"received":"2026-11-29T23:30:00.123456Z","sha256":"9f86…","body":"{\"time_stamp\":…}"}
/// ```
///
/// A body that is not UTF-8 is kept byte for byte in `bodyBase64` instead of `body`. Record ids are
/// the line numbers, from 1.
///
/// ``append(_:)`` returns only when the record is on disk (`fdatasync`). Appends are
/// group-committed: a writer thread takes every record that arrived while the previous sync ran,
/// writes them with one `write` and makes them durable with one sync, so concurrent requests share
/// the cost of a sync. Readers (``RawLogSource``) see only records that are durable, so nothing
/// downstream can get ahead of the raw store.
///
/// Opening a log reads it once: a line cut short by a crash (never acknowledged, as its sync did
/// not complete) is removed, and numbering continues after the last complete line. After a write or
/// sync error the log refuses further appends (``RawLogError``) rather than guess what reached the
/// disk; restart the program once the cause (a full disk, say) is fixed.
///
/// `@unchecked Sendable`: every mutable stored property is read and written only while `condition`
/// is locked, and continuations are resumed after it is unlocked.
public final class RawLog: @unchecked Sendable {
    /// What an append returns: the record's identity in the raw store.
    public struct Receipt: Sendable, Hashable, Codable {
        /// The record's id: its line number in the log, from 1.
        public var id: Int64
        /// When the record arrived.
        public var received: Timestamp
        /// The SHA-256 of the body, in lowercase hex.
        public var sha256: String
    }

    /// The log file.
    public let path: String

    private let condition = NSCondition()
    private let descriptor: Int32
    private var pending: [(line: [UInt8], continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: Int64
    private var durableEnd: Int64
    private var failure: RawLogError?
    private var closed = false
    private var writerDone = false
    private var readers: [Int: CheckedContinuation<(end: Int64, closed: Bool), Never>] = [:]
    private var nextReader = 0
    private var syncCount = 0
    private var durableCount: Int64 = 0

    private let appends = Counter(label: "streamkit_rawlog_records_total")
    private let syncCounter = Counter(label: "streamkit_rawlog_syncs_total")
    private let bytes = Counter(label: "streamkit_rawlog_bytes_total")

    /// Opens (or creates) the log at `path` and starts its writer thread.
    /// - Throws: ``RawLogError`` when the file cannot be created, read or repaired.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            // The folders made here must survive a power loss too: each new one's entry is synced
            // in its parent.
            var missing: [String] = []
            var folder = directory
            while !folder.isEmpty && folder != "/" && !FileManager.default.fileExists(atPath: folder) {
                missing.append(folder)
                folder = (folder as NSString).deletingLastPathComponent
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for created in missing { try Self.syncDirectory(of: created) }
            } catch let error as RawLogError {
                throw error
            } catch {
                throw RawLogError(path: path, reason: "cannot create its directory: \(error)")
            }
        }
        let existed = FileManager.default.fileExists(atPath: path)
        descriptor = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw RawLogError(path: path, reason: "cannot open: \(errnoText())") }
        do {
            let (lines, end) = try Self.recover(descriptor, path: path)
            nextID = lines + 1
            durableCount = lines
            durableEnd = end
            if !existed { try Self.syncDirectory(of: path) }
        } catch {
            Foundation.close(descriptor)
            throw error
        }
        let thread = Thread { [self] in writeLoop() }
        thread.name = "streamkit-rawlog"
        thread.start()
    }

    /// Appends a body and returns when it is durable.
    /// - Parameters:
    ///   - body: The raw bytes, as received.
    ///   - received: The arrival time.
    /// - Throws: ``RawLogError`` when the log failed or was closed: the record was not stored.
    public func append(_ body: [UInt8], received: Timestamp = .now) async throws -> Receipt {
        let sha256 = Self.sha256(body)
        var receipt = Receipt(id: 0, received: received, sha256: sha256)
        // Everything but the id is encoded before taking the lock.
        let rest = Self.lineAfterID(receipt, body: body)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            if let failure {
                condition.unlock()
                continuation.resume(throwing: failure)
                return
            }
            if closed {
                condition.unlock()
                continuation.resume(throwing: RawLogError(path: path, reason: "the log is closed"))
                return
            }
            receipt.id = nextID
            nextID += 1
            pending.append((Array("{\"id\":\(receipt.id),".utf8) + rest, continuation))
            condition.signal()
            condition.unlock()
        }
        return receipt
    }

    /// Whether the log takes appends: it is open and no write or sync failed.
    public var isHealthy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return failure == nil && !closed
    }

    /// The SHA-256 of `bytes` in lowercase hex, as receipts and raw lines carry it.
    public static func sha256(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// How many syncs this log made since it was opened: fewer than appends when requests share them.
    public var syncs: Int {
        condition.lock()
        defer { condition.unlock() }
        return syncCount
    }

    /// The number of records that are durable.
    public var count: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return durableCount
    }

    /// Waits until the durable end of the log passes `offset`, the writer stops, or `timeout`
    /// passes; returns the durable end (in bytes) and whether the writer has stopped, read together:
    /// when `closed` is true, `end` is final.
    func durableEnd(after offset: Int64, timeout: Duration) async -> (end: Int64, closed: Bool) {
        await withCheckedContinuation { (continuation: CheckedContinuation<(end: Int64, closed: Bool), Never>) in
            guard let key = register(continuation, after: offset) else { return }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let (waiting, answer) = unregister(key)
                waiting?.resume(returning: answer)
            }
        }
    }

    /// Registers a reader waiting for the end to pass `offset`, or answers it at once.
    private func register(
        _ continuation: CheckedContinuation<(end: Int64, closed: Bool), Never>,
        after offset: Int64
    ) -> Int? {
        condition.lock()
        if durableEnd > offset || writerDone {
            let answer = (durableEnd, writerDone)
            condition.unlock()
            continuation.resume(returning: answer)
            return nil
        }
        let key = nextReader
        nextReader += 1
        readers[key] = continuation
        condition.unlock()
        return key
    }

    private func unregister(
        _ key: Int
    ) -> (CheckedContinuation<(end: Int64, closed: Bool), Never>?, (end: Int64, closed: Bool)) {
        condition.lock()
        defer { condition.unlock() }
        return (readers.removeValue(forKey: key), (durableEnd, writerDone))
    }

    /// Stops taking appends, waits until what was appended is durable, and stops the writer.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while !writerDone { condition.wait() }
        condition.unlock()
    }

    deinit {
        Foundation.close(descriptor)
    }

    // MARK: - Writing

    private func writeLoop() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty {
                writerDone = true
                let waiting = readers
                readers = [:]
                let end = durableEnd
                condition.broadcast()
                condition.unlock()
                for reader in waiting.values { reader.resume(returning: (end, true)) }
                return
            }
            let batch = pending
            pending = []
            let start = durableEnd
            condition.unlock()

            var buffer: [UInt8] = []
            buffer.reserveCapacity(batch.reduce(0) { $0 + $1.line.count })
            for entry in batch { buffer.append(contentsOf: entry.line) }
            let error = Self.writeAndSync(descriptor, buffer)
            if let error {
                // What reached the disk is unknown: cut the file back to the last durable record.
                _ = ftruncate(descriptor, off_t(start))
                let failure = RawLogError(path: path, reason: error)
                condition.lock()
                self.failure = failure
                let queued = pending
                pending = []
                condition.unlock()
                for entry in batch + queued { entry.continuation.resume(throwing: failure) }
                continue
            }
            appends.increment(by: batch.count)
            syncCounter.increment()
            bytes.increment(by: buffer.count)
            condition.lock()
            durableEnd = start + Int64(buffer.count)
            durableCount += Int64(batch.count)
            syncCount += 1
            let end = durableEnd
            let waiting = readers
            readers = [:]
            condition.unlock()
            for entry in batch { entry.continuation.resume() }
            for reader in waiting.values { reader.resume(returning: (end, false)) }
        }
    }

    private static func writeAndSync(_ descriptor: Int32, _ buffer: [UInt8]) -> String? {
        var written = 0
        while written < buffer.count {
            let result = buffer.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress! + written, raw.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                return "write failed: \(errnoText())"
            }
            written += result
        }
        while fdatasync(descriptor) != 0 {
            if errno != EINTR { return "fdatasync failed: \(errnoText())" }
        }
        return nil
    }

    // MARK: - Format

    /// One record as a JSON line, after its `{"id":N,` prefix.
    static func lineAfterID(_ receipt: Receipt, body: [UInt8]) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(body.count + 160)
        line.append(contentsOf: #""received":"\#(receipt.received.iso8601)","sha256":""#.utf8)
        line.append(contentsOf: receipt.sha256.utf8)
        if String(validating: body, as: UTF8.self) != nil {
            line.append(contentsOf: #"","body":""#.utf8)
            appendEscaped(body, to: &line)
        } else {
            line.append(contentsOf: #"","bodyBase64":""#.utf8)
            line.append(contentsOf: Data(body).base64EncodedString().utf8)
        }
        line.append(contentsOf: "\"}\n".utf8)
        return line
    }

    /// Appends UTF-8 text as the inside of a JSON string.
    static func appendEscaped(_ text: [UInt8], to line: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                line.append(contentsOf: Array(#"\u00"#.utf8))
                line.append(hex[Int(byte >> 4)])
                line.append(hex[Int(byte & 15)])
            default: line.append(byte)
            }
        }
    }

    // MARK: - Recovery

    /// Counts the complete lines and removes a torn last line; returns the count and the end.
    private static func recover(_ descriptor: Int32, path: String) throws -> (lines: Int64, end: Int64) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        var lines: Int64 = 0
        var lastNewlineEnd: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress!, raw.count, off_t(offset))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw RawLogError(path: path, reason: "cannot read: \(errnoText())")
            }
            if count == 0 { break }
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                lines += 1
                lastNewlineEnd = offset + Int64(index) + 1
            }
            offset += Int64(count)
        }
        if offset != lastNewlineEnd {
            guard ftruncate(descriptor, off_t(lastNewlineEnd)) == 0, fsync(descriptor) == 0 else {
                throw RawLogError(path: path, reason: "cannot remove the torn last line: \(errnoText())")
            }
        }
        return (lines, lastNewlineEnd)
    }

    private static func syncDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { Foundation.close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw RawLogError(path: path, reason: "cannot sync its directory: \(errnoText())")
        }
    }
}

/// The raw store failed: the record was not stored, and the log takes no more until restarted.
public struct RawLogError: Error, CustomStringConvertible, Sendable {
    /// The log file.
    public var path: String
    /// What went wrong.
    public var reason: String

    /// What went wrong, with the file.
    public var description: String { "raw log '\(path)': \(reason)" }
}

func errnoText() -> String { String(cString: strerror(errno)) }
