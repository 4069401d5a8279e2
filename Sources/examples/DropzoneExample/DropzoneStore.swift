import CoreMetrics
import Foundation
import GRDB
import StreamKit
import StreamKitHTTP

/// The dropzone's tables, in one SQLite database in WAL mode (analysts read it with `sqlite3`
/// while the pipeline writes):
///
/// | table | one row per | holds |
/// |---|---|---|
/// | `measurements` | UTC instant | count, mean, std_population, std_sample, min, max, the raw record that set them, version |
/// | `lineage` | processed raw record | its UTC instant, hash, arrival and processing times, the raw record it replaced |
/// | `rejected` | refused raw record | reason, hash, body |
///
/// Every write is keyed by the raw record's id, and a record already in `lineage` or `rejected` is
/// skipped: replaying the raw store after a crash changes nothing that was already written, so each
/// stored record is applied exactly once.
///
/// A record can fail; the pipeline does not. Each measurement is written in a savepoint of its own:
/// when SQLite refuses that one record (``isRecordLevel(_:)``: a constraint, a type mismatch, a value
/// too big), the savepoint is rolled back, the record goes to `rejected` with the reason and
/// `stage = 'store'`, `dropzone_records_rejected_total{stage="store"}` is incremented, and the batch
/// goes on. Any other error (disk full, I/O error, database locked, read-only or corrupt) is an
/// infrastructure failure: it is thrown, the batch's transaction is rolled back and the pipeline
/// stops with that error, to resume from its last checkpoint once the cause is fixed.
public final class DropzoneStore: Sendable {
    /// The database, shared by the pipeline's sinks and the HTTP API.
    public let database: DatabasePool

    /// Opens (and creates) the store.
    public init(path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        database = try DatabasePool(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: Self.schema) }
        migrator.registerMigration("v2-rejected-instants") { db in try db.execute(sql: Self.rejectedInstants) }
        try migrator.migrate(database)
    }

    static let schema = """
        CREATE TABLE measurements (
            utc TEXT PRIMARY KEY, time_stamp TEXT NOT NULL, count INTEGER NOT NULL, mean REAL NOT NULL,
            std_population REAL NOT NULL, std_sample REAL, min REAL NOT NULL, max REAL NOT NULL,
            raw_id INTEGER NOT NULL, sha256 TEXT NOT NULL, received_at TEXT NOT NULL,
            processed_at TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE lineage (
            raw_id INTEGER PRIMARY KEY, utc TEXT NOT NULL, time_stamp TEXT NOT NULL, sha256 TEXT NOT NULL,
            received_at TEXT NOT NULL, processed_at TEXT NOT NULL, replaced_raw_id INTEGER);
        CREATE INDEX lineage_by_instant ON lineage (utc, raw_id);
        CREATE TABLE rejected (
            raw_id INTEGER PRIMARY KEY, reason TEXT NOT NULL, sha256 TEXT, rejected_at TEXT NOT NULL,
            body TEXT NOT NULL);
        """

    /// Where a refused record stands in the lineage of its instant, when its time stamp could be read,
    /// and at which stage it was refused (`validate` or `store`).
    static let rejectedInstants = """
        ALTER TABLE rejected ADD COLUMN utc TEXT;
        ALTER TABLE rejected ADD COLUMN time_stamp TEXT;
        ALTER TABLE rejected ADD COLUMN stage TEXT;
        CREATE INDEX rejected_by_instant ON rejected (utc, raw_id);
        """

    /// Records refused by the pipeline, by stage.
    static let rejectedAtValidation = Counter(
        label: "dropzone_records_rejected_total",
        dimensions: [("stage", "validate")]
    )
    static let rejectedAtStore = Counter(label: "dropzone_records_rejected_total", dimensions: [("stage", "store")])

    /// Whether an error of a write concerns only the record being written (the record is rejected
    /// and the pipeline goes on) rather than the database (the pipeline stops).
    ///
    /// Record-level: `SQLITE_CONSTRAINT` (a NOT NULL, CHECK or key violation: a NaN is stored as
    /// NULL), `SQLITE_MISMATCH`, `SQLITE_TOOBIG`, `SQLITE_RANGE`, and Swift encoding errors.
    /// Everything else, `SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_BUSY`, `SQLITE_READONLY`,
    /// `SQLITE_CORRUPT`, `SQLITE_CANTOPEN`, `SQLITE_NOMEM` among them, is infrastructure.
    public static func isRecordLevel(_ error: any Error) -> Bool {
        if error is EncodingError { return true }
        guard let error = error as? DatabaseError else { return false }
        return [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG, .SQLITE_RANGE].contains(error.resultCode)
    }

    /// Applies measurements in raw-record order: each one replaces the row of its UTC instant and
    /// records what it replaced. Records already applied or rejected are skipped; a record that
    /// SQLite refuses goes to `rejected` (see the type's documentation).
    func apply(_ db: Database, _ measurements: [DropzoneMeasurement], processed: Timestamp) throws {
        let seen = try db.makeStatement(
            sql: "SELECT 1 FROM lineage WHERE raw_id = ?1 UNION ALL SELECT 1 FROM rejected WHERE raw_id = ?1"
        )
        let current = try db.makeStatement(sql: "SELECT raw_id FROM measurements WHERE utc = ?")
        let lineageSQL = """
            INSERT INTO lineage (raw_id, utc, time_stamp, sha256, received_at, processed_at, replaced_raw_id)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """
        let upsertSQL = """
            INSERT INTO measurements (utc, time_stamp, count, mean, std_population, std_sample, min, max,
                raw_id, sha256, received_at, processed_at, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
            ON CONFLICT (utc) DO UPDATE SET time_stamp = excluded.time_stamp, count = excluded.count,
                mean = excluded.mean, std_population = excluded.std_population,
                std_sample = excluded.std_sample, min = excluded.min, max = excluded.max,
                raw_id = excluded.raw_id, sha256 = excluded.sha256, received_at = excluded.received_at,
                processed_at = excluded.processed_at, version = measurements.version + 1
            """
        var lineage = try db.makeStatement(sql: lineageSQL)
        var upsert = try db.makeStatement(sql: upsertSQL)
        let processedAt = processed.iso8601
        for m in measurements {
            if try Bool.fetchOne(seen, arguments: [m.rawID]) == true { continue }
            let utc = m.utc.iso8601
            do {
                try db.inSavepoint {
                    let replaced = try Int64.fetchOne(current, arguments: [utc])
                    try lineage.execute(arguments: [
                        m.rawID, utc, m.timeStamp, m.sha256, m.received.iso8601, processedAt, replaced,
                    ])
                    try upsert.execute(arguments: [
                        utc, m.timeStamp, m.count, m.mean, m.stdPopulation, m.stdSample, m.min, m.max,
                        m.rawID, m.sha256, m.received.iso8601, processedAt,
                    ])
                    return .commit
                }
            } catch let error where Self.isRecordLevel(error) {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO rejected (raw_id, reason, sha256, rejected_at, body, utc, time_stamp, stage)
                        VALUES (?, ?, ?, ?, '', ?, ?, 'store')
                        """,
                    arguments: [
                        m.rawID,
                        "cannot be stored: \(Self.describe(error)) (the body is in the raw log as id \(m.rawID))",
                        m.sha256, processedAt, utc, m.timeStamp,
                    ]
                )
                if db.changesCount > 0 { Self.rejectedAtStore.increment() }
                // A statement whose step failed reports that error again when it is next reset:
                // the following records get statements of their own.
                lineage = try db.makeStatement(sql: lineageSQL)
                upsert = try db.makeStatement(sql: upsertSQL)
            }
        }
    }

    /// SQLite's message without GRDB's SQL and arguments.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return "\(error.resultCode): \(error.message ?? "no message")"
    }

    /// Keeps refused records with their reason, and their instant when their time stamp can be read.
    func reject(_ db: Database, _ errors: [ErrorRecord]) throws {
        let insert = try db.makeStatement(
            sql: """
                INSERT OR IGNORE INTO rejected (raw_id, reason, sha256, rejected_at, body, utc, time_stamp, stage)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'validate')
                """
        )
        for error in errors {
            guard let id = RawLogRecord.id(in: error) else { continue }
            let payload = DropzoneMeasurement.instant(of: error.raw)
            try insert.execute(arguments: [
                id, error.reason, RawLog.sha256(error.raw), error.time.iso8601, error.rawText,
                payload?.utc.iso8601, payload?.timeStamp,
            ])
            if db.changesCount > 0 { Self.rejectedAtValidation.increment() }
        }
    }

    /// A sink that writes each batch in one transaction.
    func sink<Element: Sendable>(
        _ write: @escaping @Sendable (Database, Batch<Element>) throws -> Void
    ) -> DropzoneStoreSink<Element> {
        DropzoneStoreSink(store: self, write: write)
    }
}

/// A sink into the ``DropzoneStore``: one write transaction per batch.
struct DropzoneStoreSink<Element: Sendable>: Sink {
    let store: DropzoneStore
    let write: @Sendable (Database, Batch<Element>) throws -> Void

    func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    final class Writer: SinkWriter {
        let sink: DropzoneStoreSink<Element>
        init(sink: DropzoneStoreSink<Element>) { self.sink = sink }

        func write(_ batch: Batch<Element>) async throws {
            let write = sink.write
            try await sink.store.database.write { db in try write(db, batch) }
        }

        func finish() async throws {}
    }
}
