import StreamKit
import StreamKitHTTP

/// The dropzone's pipeline: the raw store in, validated and converted measurements upserted by UTC
/// instant, refused records kept with their reason.
///
/// ```
/// raw-log ─▶ validate ─▶ measurements (SQLite upsert by UTC, lineage)
///     │          └─ errors ─▶ rejected
///     └─ errors (unreadable lines) ─▶ rejected
/// ```
public enum DropzoneGraph {
    /// Builds the pipeline over `log`, writing into `store`.
    public static func build(log: RawLog, store: DropzoneStore) -> Pipeline {
        let pipeline = Pipeline("dropzone")
        let raw = pipeline.source(RawLogSource(log), name: "raw-log")
        let measurements = raw.tryMap(name: "validate") { record in try DropzoneMeasurement(record) }
        measurements.sink(
            store.sink { db, batch in try store.apply(db, batch.elements, processed: .now) },
            name: "measurements"
        )
        raw.errors.merge(with: measurements.errors, name: "refused")
            .sink(store.sink { db, batch in try store.reject(db, batch.elements) }, name: "rejected")
        return pipeline
    }
}
