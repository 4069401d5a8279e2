import Foundation

/// A sink that writes JSON Lines files partitioned by event time, in Hive-style folders:
/// `raw/date=2024-01-01/hour=13/part-00001.jsonl`.
///
/// Each element is one line. A file is written as `part-NNNNN.jsonl.inprogress` and renamed to
/// `part-NNNNN.jsonl` when it is complete: when it reaches ``maximumFileSize``, when the watermark
/// passes the end of its partition (no on-time element can arrive for it any more), or when the
/// input ends. Readers that skip `.inprogress` files therefore see only complete files. Part
/// numbers continue after the files already present, so a restart never overwrites a file.
///
/// Elements go to the partition of their event time; a stream without event time is partitioned by
/// the time it is written.
///
/// With checkpoints (``Pipeline/run(checkpoints:)``) a completed file is first renamed
/// `part-NNNNN.jsonl.pending`, and becomes `part-NNNNN.jsonl` only when a checkpoint that covers it
/// completes. The pending files are part of the checkpoint: after a crash, the restored run commits
/// those of the restored checkpoint and deletes every other unfinished file, whose lines it replays.
/// The files a reader sees therefore hold every line exactly once.
///
/// ```swift
/// readings.sink(RollingFileSink<Reading>(directory: "data/raw", partitioning: .hourly))
/// ```
public struct RollingFileSink<Element: Sendable>: Sink {
    /// The root directory of the files.
    public let directory: String
    /// The folders files go to.
    public let partitioning: FilePartitioning
    /// The size at which a file is closed and a new one started.
    public let maximumFileSize: Int
    /// The file name extension, without the dot.
    public let fileExtension: String
    /// How an element becomes one line (without the newline).
    public let format: @Sendable (Element) throws -> [UInt8]
    /// How files are encoded as they are written (such as gzip), if at all; see ``FileCompletion``.
    public var completion: FileCompletion?

    /// Creates a sink that writes lines produced by `format`.
    /// - Parameters:
    ///   - directory: The root directory; created if missing.
    ///   - partitioning: The folders files go to (default: hourly).
    ///   - maximumFileSize: The size at which a file is rolled (default: 128 MiB).
    ///   - fileExtension: The file name extension (default: `jsonl`).
    ///   - format: How an element becomes one line.
    public init(
        directory: String,
        partitioning: FilePartitioning = .hourly,
        maximumFileSize: Int = 128 << 20,
        fileExtension: String = "jsonl",
        format: @escaping @Sendable (Element) throws -> [UInt8]
    ) {
        self.directory = directory
        self.partitioning = partitioning
        self.maximumFileSize = maximumFileSize
        self.fileExtension = fileExtension
        self.format = format
    }

    /// Opens the directory.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` if it cannot be created.
    public func makeWriter(context: SinkContext) async throws -> Writer {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StreamKitError(
                code: .io,
                message:
                    "cannot create the directory '\(directory)' of sink '\(context.name)': check the path and permissions",
                underlying: error
            )
        }
        return Writer(sink: self, checkpointing: context.checkpointing)
    }

    /// Writes lines into the files of the partitions.
    public final class Writer: SinkWriter {
        struct OpenFile {
            var handle: FileHandle
            var path: String
            /// Bytes written before encoding, the measure of ``RollingFileSink/maximumFileSize``.
            var size: Int
            var partitionEnd: Timestamp
            /// The file's encoder, with a ``FileCompletion``.
            var encoder: (any FileEncoder)?
        }

        let sink: RollingFileSink
        let checkpointing: Bool
        private var open: [Timestamp: OpenFile] = [:]
        private var nextPart: [String: Int] = [:]
        /// Files completed since the last checkpoint, waiting for one (`.pending` paths).
        private var uncommitted: [String] = []
        /// Files covered by a checkpoint that has not completed yet, by checkpoint.
        private var prepared: [Int64: [String]] = [:]
        /// The files completed so far, as paths relative to the directory.
        public private(set) var completedFiles: [String] = []

        init(sink: RollingFileSink, checkpointing: Bool) {
            self.sink = sink
            self.checkpointing = checkpointing
        }

        /// Closes the open files and remembers every file not yet visible, to make them visible
        /// when checkpoint `id` completes.
        public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? {
            for (_, file) in open.sorted(by: { $0.key < $1.key }) { try complete(file) }
            open.removeAll()
            prepared[id] = uncommitted
            uncommitted = []
            return try StateCoding.encode(prepared.sorted { $0.key < $1.key }.flatMap(\.value))
        }

        /// Makes the files of checkpoint `id` and earlier visible.
        public func commitCheckpoint(_ id: Int64) async throws {
            for key in prepared.keys.sorted() where key <= id {
                for path in prepared[key]! { try publish(path) }
                prepared[key] = nil
            }
        }

        /// Commits the files the restored checkpoint covers, and deletes every other unfinished file.
        public func restore(from snapshots: [[UInt8]]) async throws {
            var covered: Set<String> = []
            for bytes in snapshots {
                for path in try StateCoding.decode([String].self, from: bytes, operator: sink.directory) {
                    covered.insert(path)
                }
            }
            let manager = FileManager.default
            let all = manager.enumerator(atPath: sink.directory)?.compactMap { $0 as? String } ?? []
            for relative in all where relative.hasSuffix(".pending") || relative.hasSuffix(".inprogress") {
                let path = "\(sink.directory)/\(relative)"
                if covered.contains(path) {
                    try publish(path)
                } else {
                    try? manager.removeItem(atPath: path)
                }
            }
        }

        private func publish(_ pendingPath: String) throws {
            let finalPath = String(pendingPath.dropLast(".pending".count))
            guard FileManager.default.fileExists(atPath: pendingPath) else { return }
            do {
                try FileManager.default.moveItem(atPath: pendingPath, toPath: finalPath)
                try DurableFile.syncDirectory(of: finalPath)
            } catch {
                throw StreamKitError(code: .io, message: "cannot publish '\(pendingPath)'", underlying: error)
            }
            completedFiles.append(String(finalPath.dropFirst(sink.directory.count + 1)))
        }

        /// Appends the batch's elements to the files of their partitions.
        public func write(_ batch: Batch<Element>) async throws {
            let now = Timestamp.now
            var lines: [Timestamp: [UInt8]] = [:]
            for index in batch.elements.indices {
                let time = batch.hasEventTime ? batch.timestamps[index] : now
                let start = sink.partitioning.partitionStart(of: time)
                var line = try sink.format(batch.elements[index])
                line.append(UInt8(ascii: "\n"))
                lines[start, default: []].append(contentsOf: line)
            }
            for (start, bytes) in lines.sorted(by: { $0.key < $1.key }) {
                try append(bytes, partition: start)
            }
        }

        /// Completes the files of partitions that end at or before the watermark.
        public func advance(to watermark: Timestamp) async throws {
            for (start, file) in open where file.partitionEnd <= watermark {
                try complete(file)
                open[start] = nil
            }
        }

        /// Completes every open file; the input is exhausted, so every file becomes visible.
        public func finish() async throws {
            for (_, file) in open.sorted(by: { $0.key < $1.key }) { try complete(file) }
            open.removeAll()
            for key in prepared.keys.sorted() {
                for path in prepared[key]! { try publish(path) }
            }
            prepared.removeAll()
            for path in uncommitted { try publish(path) }
            uncommitted.removeAll()
        }

        private func append(_ bytes: [UInt8], partition start: Timestamp) throws {
            var file = try open[start] ?? create(partition: start)
            if file.size > 0 && file.size + bytes.count > sink.maximumFileSize {
                try complete(file)
                file = try create(partition: start)
            }
            do {
                let output = try file.encoder?.encode(bytes) ?? bytes
                if !output.isEmpty { try file.handle.write(contentsOf: output) }
            } catch {
                throw StreamKitError(code: .io, message: "cannot write '\(file.path)'", underlying: error)
            }
            file.size += bytes.count
            open[start] = file
        }

        private func create(partition start: Timestamp) throws -> OpenFile {
            let folder = sink.partitioning.folder(start)
            let directory = folder.isEmpty ? sink.directory : "\(sink.directory)/\(folder)"
            let manager = FileManager.default
            if nextPart[folder] == nil {
                try? manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let existing = (try? manager.contentsOfDirectory(atPath: directory)) ?? []
                let numbers = existing.compactMap { name -> Int? in
                    guard name.hasPrefix("part-") else { return nil }
                    return Int(name.dropFirst(5).prefix(while: \.isNumber))
                }
                nextPart[folder] = (numbers.max() ?? 0) + 1
            }
            let number = nextPart[folder]!
            nextPart[folder] = number + 1
            let digits = String(number)
            let name = "part-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
            let path = "\(directory)/\(name).\(sink.fileExtension).inprogress"
            guard manager.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path)
            else {
                throw StreamKitError(code: .io, message: "cannot create '\(path)': check the directory's permissions")
            }
            let encoder: (any FileEncoder)?
            do {
                encoder = try sink.completion?.makeEncoder()
            } catch {
                throw StreamKitError(code: .io, message: "cannot start encoding '\(path)'", underlying: error)
            }
            return OpenFile(
                handle: handle,
                path: path,
                size: 0,
                partitionEnd: sink.partitioning.partitionEnd(of: start),
                encoder: encoder
            )
        }

        /// Closes a file; it becomes visible now, or with checkpoints pending until one completes.
        /// With a ``FileCompletion`` the file was encoded as it was written: its encoder writes the
        /// end, and the file gets the encoding's extension.
        private func complete(_ file: OpenFile) throws {
            var finalPath = String(file.path.dropLast(".inprogress".count))
            if let completion = sink.completion { finalPath += "." + completion.fileExtension }
            let target = checkpointing ? finalPath + ".pending" : finalPath
            do {
                if let end = try file.encoder?.finish(), !end.isEmpty { try file.handle.write(contentsOf: end) }
                try file.handle.synchronize()
                try file.handle.close()
                try FileManager.default.moveItem(atPath: file.path, toPath: target)
            } catch {
                throw StreamKitError(code: .io, message: "cannot complete '\(file.path)'", underlying: error)
            }
            if checkpointing {
                uncommitted.append(target)
            } else {
                completedFiles.append(String(finalPath.dropFirst(sink.directory.count + 1)))
            }
        }
    }
}

/// An encoding of the files of a ``RollingFileSink``: compression, typically, so that a cheap
/// long-term archive holds `part-00001.jsonl.gz`.
///
/// Each file is encoded as it is written, by a ``FileEncoder`` of its own, so that closing a file
/// (at a checkpoint, at the end of its partition, at its size limit) only writes the encoding's end
/// rather than reading the whole file back and encoding it while the pipeline waits. Until the file
/// is complete it keeps its `.inprogress` name, so readers never see a partial encoding.
///
/// StreamKit's core has no compression library; a program passes one, for instance a streaming
/// gzip from compress-nio (see the IoT example's `FileCompletion.gzip(level:)`), or an encoding of
/// the whole content with ``init(fileExtension:encode:)``.
public struct FileCompletion: Sendable {
    /// The extension added to the file's name, without the dot, such as `gz`.
    public var fileExtension: String
    /// Makes the encoder of a new file.
    public var makeEncoder: @Sendable () throws -> any FileEncoder

    /// Creates an encoding that encodes each file as it is written.
    public init(fileExtension: String, makeEncoder: @escaping @Sendable () throws -> any FileEncoder) {
        self.fileExtension = fileExtension
        self.makeEncoder = makeEncoder
    }

    /// Creates an encoding of each file's whole content, at once when the file is complete: the
    /// content is kept in memory until then.
    public init(fileExtension: String, encode: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.init(fileExtension: fileExtension) { WholeContentEncoder(encode: encode) }
    }
}

/// Encodes one file of a ``RollingFileSink`` as it is written; used on the sink's task only.
public protocol FileEncoder: AnyObject {
    /// Encodes the next bytes of the file and returns what to write now (possibly nothing: an
    /// encoder may hold bytes back until it has enough).
    func encode(_ bytes: [UInt8]) throws -> [UInt8]
    /// The file is complete: returns the rest of the encoded file.
    func finish() throws -> [UInt8]
}

/// Keeps a file's content until it is complete, then encodes it at once.
final class WholeContentEncoder: FileEncoder {
    private let encode: @Sendable ([UInt8]) throws -> [UInt8]
    private var content: [UInt8] = []

    init(encode: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.encode = encode
    }

    func encode(_ bytes: [UInt8]) throws -> [UInt8] {
        content.append(contentsOf: bytes)
        return []
    }

    func finish() throws -> [UInt8] {
        defer { content = [] }
        return try encode(content)
    }
}

extension RollingFileSink where Element: Encodable {
    /// Creates a sink that writes each element as JSON.
    public init(
        directory: String,
        partitioning: FilePartitioning = .hourly,
        maximumFileSize: Int = 128 << 20
    ) {
        self.init(directory: directory, partitioning: partitioning, maximumFileSize: maximumFileSize) { element in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(element))
        }
    }
}
