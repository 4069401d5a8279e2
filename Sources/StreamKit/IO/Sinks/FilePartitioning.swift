/// How a file sink lays out its files by event time: Hive-style folders such as
/// `date=2024-01-01/hour=13/`, which Spark, Trino and DuckDB read as partition columns.
public struct FilePartitioning: Sendable {
    /// The length of one partition in microseconds; `nil` for a single partition.
    let width: Int64?
    /// The folder of the partition that starts at a time.
    let folder: @Sendable (Timestamp) -> String

    /// One folder per UTC hour: `date=YYYY-MM-DD/hour=HH`.
    public static let hourly = FilePartitioning(width: 3_600_000_000) { start in
        let text = start.iso8601
        return "date=\(text.prefix(10))/hour=\(text.dropFirst(11).prefix(2))"
    }

    /// One folder per UTC day: `date=YYYY-MM-DD`.
    public static let daily = FilePartitioning(width: 86_400_000_000) { start in
        "date=\(start.iso8601.prefix(10))"
    }

    /// All files in the sink's directory.
    public static let none = FilePartitioning(width: nil) { _ in "" }

    /// The start of the partition that holds `time`.
    func partitionStart(of time: Timestamp) -> Timestamp {
        guard let width else { return .min }
        return Timestamp(microseconds: time.microseconds.floorDivided(by: width) * width)
    }

    /// The end of the partition that starts at `start`.
    func partitionEnd(of start: Timestamp) -> Timestamp {
        guard let width else { return .max }
        return start.advanced(by: width)
    }
}
