import Foundation
import GRDB
import StreamKit

/// The BI store: a SQLite database in WAL mode, so that BI users and the `sqlite3` command line
/// read it while the pipeline writes.
///
/// Every table has a natural key and every write is an upsert or an insert that ignores a row
/// already there, so a pipeline that restarts from a checkpoint and replays messages from its MQTT
/// journal never duplicates a row (a malformed message is identified by its topic and payload).
///
/// | table | one row per | columns |
/// |---|---|---|
/// | `readings` | sensor and event time | value, received_at |
/// | `minute_means` | sensor and minute | count, mean, min, max, stddev |
/// | `late_readings` | sensor and event time | value, minute, lateness_seconds |
/// | `quality` | sensor and minute | expected, count, out_of_range, late, malformed, completeness, score |
/// | `malformed` | message | topic, received_at, reason, payload, sensor (when readable) |
public final class BIStore: Sendable {
    /// The database, shared by the pipeline's sinks and the HTTP API.
    public let database: DatabasePool
    /// The file of the database.
    public let path: String

    /// Opens (and creates or migrates) the store at `path`.
    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Readings of thousands of sensors touch as many pages of `readings` per transaction:
            // a 64 MiB page cache keeps them (the default is 2 MiB). The writer only: readers
            // keep the default, so that a pool of readers does not multiply it.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -65536") }
        }
        database = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: Self.schema)
        }
        migrator.registerMigration("v2: a malformed message is stored once") { db in
            // A copy of a malformed message (a broker's redelivery, a sensor that repeats itself)
            // is one message, as a copy of a reading is one reading.
            try db.execute(
                sql: """
                    DELETE FROM malformed WHERE id NOT IN (SELECT MIN(id) FROM malformed GROUP BY topic, payload);
                    CREATE UNIQUE INDEX malformed_once ON malformed (topic, payload);
                    """
            )
        }
        try migrator.migrate(database)
    }

    /// The tables. Completeness and the quality score are generated columns, so that every writer
    /// (minute results, late readings, malformed messages) keeps them right with plain updates.
    ///
    /// score = 100 × completeness × share of values in range × share of readings on time and well
    /// formed, where completeness = min(1, count / expected).
    static let schema = """
        CREATE TABLE readings (
            sensor TEXT NOT NULL, dt TEXT NOT NULL, value REAL NOT NULL, received_at TEXT NOT NULL,
            PRIMARY KEY (sensor, dt)) WITHOUT ROWID;
        CREATE TABLE minute_means (
            sensor TEXT NOT NULL, minute TEXT NOT NULL, count INTEGER NOT NULL, mean REAL NOT NULL,
            min REAL NOT NULL, max REAL NOT NULL, stddev REAL NOT NULL, written_at TEXT NOT NULL,
            PRIMARY KEY (sensor, minute)) WITHOUT ROWID;
        CREATE TABLE late_readings (
            sensor TEXT NOT NULL, dt TEXT NOT NULL, value REAL NOT NULL, minute TEXT NOT NULL,
            lateness_seconds REAL NOT NULL, received_at TEXT NOT NULL,
            PRIMARY KEY (sensor, dt)) WITHOUT ROWID;
        CREATE TABLE quality (
            sensor TEXT NOT NULL, minute TEXT NOT NULL, expected INTEGER NOT NULL,
            count INTEGER NOT NULL DEFAULT 0, out_of_range INTEGER NOT NULL DEFAULT 0,
            late INTEGER NOT NULL DEFAULT 0, malformed INTEGER NOT NULL DEFAULT 0,
            completeness REAL GENERATED ALWAYS AS (MIN(1.0, count * 1.0 / expected)) VIRTUAL,
            score REAL GENERATED ALWAYS AS (ROUND(100.0
                * MIN(1.0, count * 1.0 / expected)
                * (CASE WHEN count > 0 THEN (count - out_of_range) * 1.0 / count ELSE 0 END)
                * (CASE WHEN count > 0 THEN count * 1.0 / (count + late + malformed) ELSE 0 END), 1)) VIRTUAL,
            PRIMARY KEY (sensor, minute)) WITHOUT ROWID;
        CREATE TABLE malformed (
            id INTEGER PRIMARY KEY, topic TEXT NOT NULL, received_at TEXT NOT NULL, reason TEXT NOT NULL,
            payload TEXT NOT NULL, sensor TEXT);
        CREATE INDEX readings_by_time ON readings (dt);
        CREATE INDEX minute_means_by_time ON minute_means (minute);
        """

    /// A sink that writes each batch in one transaction with `write`.
    public func sink<Element: Sendable>(
        _ write: @escaping @Sendable (Database, Batch<Element>) throws -> Void
    ) -> BIStoreSink<Element> {
        BIStoreSink(store: self, write: write)
    }

    // MARK: Queries of the HTTP API

    /// Rows of `sql` as JSON-ready dictionaries.
    public func rows(_ sql: String, _ arguments: StatementArguments = []) async throws -> [[String: JSONValue]] {
        try await database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                var object: [String: JSONValue] = [:]
                for (column, value) in row {
                    object[column] = JSONValue(value)
                }
                return object
            }
        }
    }
}

/// A sink into the ``BIStore``: batches are written in transactions by a ``GroupCommitter``, which
/// puts every batch that waits while the previous transaction commits into the next one.
public struct BIStoreSink<Element: Sendable>: Sink {
    let store: BIStore
    let write: @Sendable (Database, Batch<Element>) throws -> Void

    /// Returns the writer.
    public func makeWriter(context: SinkContext) async throws -> Writer {
        Writer(sink: self, groupsCommits: context.checkpointing)
    }

    /// Hands batches to the group committer.
    public final class Writer: SinkWriter {
        let committer: GroupCommitter<Element>
        /// Whether a write may return before its batch is committed. Only with checkpoints: their
        /// barriers (and the end of input) wait for the commits, while a pipeline stopped without
        /// checkpoints tells its sinks nothing, so each write then waits for its own commit.
        let groupsCommits: Bool

        init(sink: BIStoreSink<Element>, groupsCommits: Bool) {
            committer = GroupCommitter(store: sink.store, maximumPending: 200_000, write: sink.write)
            self.groupsCommits = groupsCommits
        }

        /// Queues the batch for the next transaction (without checkpoints: and waits for it).
        public func write(_ batch: Batch<Element>) async throws {
            try await committer.submit(batch)
            if !groupsCommits { try await committer.drain() }
        }

        /// Waits until every batch so far is committed, so that the checkpoint covers them.
        public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? {
            try await committer.drain()
            return nil
        }

        /// Waits until every batch is committed.
        public func finish() async throws { try await committer.drain() }
    }
}

/// A JSON value of a database row, for the HTTP API.
public enum JSONValue: Encodable, Sendable, Equatable {
    case null
    case integer(Int64)
    case double(Double)
    case string(String)

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .blob(let data): self = .string(String(decoding: data, as: UTF8.self))
        }
    }

    /// Encodes the value as the JSON scalar it holds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .integer(let number): try container.encode(number)
        case .double(let number):
            // JSON has no infinity or NaN: such a value (a sum that overflowed) is served as null
            // rather than failing the whole answer.
            if number.isFinite { try container.encode(number) } else { try container.encodeNil() }
        case .string(let text): try container.encode(text)
        }
    }
}
