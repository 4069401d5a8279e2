import Foundation

/// A sink that keeps the latest line per key and writes them, sorted by key, to one file: a keyed
/// upsert target, as a table with a primary key would be.
///
/// Without checkpoints the file is written once, when the input ends. With checkpoints it is
/// rewritten (durably: temporary file, fsync, rename) when a checkpoint completes whose rows differ
/// from those last written (a checkpoint with no new rows writes nothing), with the rows as of that
/// checkpoint, and the rows are part of the checkpoint: after a crash the restored run starts
/// from exactly those rows and replays the rest, so the file only ever shows the results of a
/// consistent cut (exactly-once output). Writing the same row twice changes nothing, so replays
/// are harmless.
///
/// ```swift
/// minuteMeans.sink(UpsertFileSink(path: "out/minutes.csv", key: { "\($0.key) \($0.window.start)" }) {
///     "\($0.key),\($0.window.start),\($0.value)"
/// })
/// ```
public struct UpsertFileSink<Element: Sendable>: Sink {
    /// The file the rows go to.
    public let path: String
    /// The key of an element's row.
    public let key: @Sendable (Element) -> String
    /// The row of an element, one line.
    public let line: @Sendable (Element) -> String

    /// Creates a sink writing to `path`.
    public init(
        path: String,
        key: @escaping @Sendable (Element) -> String,
        line: @escaping @Sendable (Element) -> String
    ) {
        self.path = path
        self.key = key
        self.line = line
    }

    /// Creates the file's directory.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/invalidConfiguration`` when the
    ///   path names something other than a regular file (a symbolic link, a device such as
    ///   `/dev/null`, a directory): the sink replaces its file on every commit and would replace
    ///   that; ``StreamKitError/Code/io`` when the directory cannot be created.
    public func makeWriter(context: SinkContext) async throws -> Writer {
        try DurableFile.checkReplaceable(path, by: "sink '\(context.name)'")
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try DurableFile.createDirectory(directory, purpose: "output")
        }
        return Writer(sink: self)
    }

    /// Holds the rows and writes the file.
    public final class Writer: SinkWriter {
        let sink: UpsertFileSink
        private var rows: [String: String] = [:]
        /// How many batches with elements have been upserted: tells whether the rows changed.
        private var changes = 0
        /// The value of `changes` when the file was last written.
        private var writtenChanges = -1
        private var prepared: [Int64: (rows: [String: String], changes: Int)] = [:]

        init(sink: UpsertFileSink) {
            self.sink = sink
        }

        /// Upserts the batch's rows.
        public func write(_ batch: Batch<Element>) async throws {
            if batch.elements.isEmpty { return }
            for element in batch.elements { rows[sink.key(element)] = sink.line(element) }
            changes += 1
        }

        /// Remembers the rows as of the checkpoint, to write them when it completes.
        public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? {
            prepared[id] = (rows, changes)
            return try StateCoding.encode(rows)
        }

        /// Writes the rows as of checkpoint `id`.
        public func commitCheckpoint(_ id: Int64) async throws {
            guard let committed = prepared.keys.filter({ $0 <= id }).max(), let snapshot = prepared[committed] else {
                return
            }
            if snapshot.changes != writtenChanges {
                try writeFile(snapshot.rows)
                writtenChanges = snapshot.changes
            }
            prepared = prepared.filter { $0.key > committed }
        }

        /// Starts from the rows of the restored checkpoint, and writes them.
        public func restore(from snapshots: [[UInt8]]) async throws {
            for bytes in snapshots {
                let restored = try StateCoding.decode([String: String].self, from: bytes, operator: sink.path)
                rows.merge(restored) { _, new in new }
            }
            try writeFile(rows)
            writtenChanges = changes
        }

        /// Writes every row, unless the file already holds them.
        public func finish() async throws {
            if changes != writtenChanges { try writeFile(rows) }
        }

        private func writeFile(_ rows: [String: String]) throws {
            let text = rows.sorted { $0.key < $1.key }.map { $0.value + "\n" }.joined()
            try DurableFile.checkReplaceable(sink.path, by: "an UpsertFileSink")
            try DurableFile.write(Data(text.utf8), to: sink.path)
        }
    }
}
