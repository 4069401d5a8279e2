import Logging

/// How a pipeline takes checkpoints: when, where, and how many it keeps.
///
/// ```swift
/// try await pipeline.run(checkpoints: .every(.seconds(10), in: "state/"))
/// ```
public struct CheckpointConfiguration: Sendable {
    /// The directory that holds the checkpoints; created if missing.
    public var directory: String
    /// How often a checkpoint starts.
    public var interval: Duration
    /// How many complete checkpoints to keep (the newest ones).
    public var retain: Int
    /// Whether to ignore existing checkpoints and start from the beginning of the sources.
    public var fresh: Bool

    /// Creates a configuration.
    /// - Parameters:
    ///   - directory: The directory of the checkpoints.
    ///   - interval: How often a checkpoint starts.
    ///   - retain: How many complete checkpoints to keep (default 3).
    ///   - fresh: Whether to start over, ignoring existing checkpoints (default `false`).
    public init(directory: String, interval: Duration, retain: Int = 3, fresh: Bool = false) {
        self.directory = directory
        self.interval = interval
        self.retain = retain
        self.fresh = fresh
    }

    /// A checkpoint every `interval` in `directory`.
    public static func every(_ interval: Duration, in directory: String, retain: Int = 3) -> CheckpointConfiguration {
        CheckpointConfiguration(directory: directory, interval: interval, retain: retain)
    }

    /// The mistakes in this configuration, as messages that say what to change.
    func problems() -> [String] {
        var problems: [String] = []
        if interval <= .zero { problems.append("the checkpoint interval is \(interval): use a positive duration") }
        if retain < 1 { problems.append("retain is \(retain): keep at least 1 checkpoint") }
        if directory.isEmpty { problems.append("the checkpoint directory is empty: give a path") }
        return problems
    }
}

/// Where a source is in its input, as recorded in a checkpoint: a byte offset for files, an index
/// for in-memory sources, an offset per partition for Kafka.
public struct SourcePosition: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Named offsets, such as `["offset": 4096, "line": 120]`.
    public var offsets: [String: Int64]

    /// Creates a position.
    public init(_ offsets: [String: Int64]) {
        self.offsets = offsets
    }

    /// The offsets, sorted by name.
    public var description: String {
        offsets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

extension CheckpointConfiguration {
    /// The position source `name` recorded in the latest complete checkpoint under `directory`, or
    /// `nil` when there is none: what a run restored from that directory would seek the source to.
    /// A connector that must choose its starting point before the pipeline runs (a Kafka partition
    /// assigned by its group) reads it here. `nil` too when the newest checkpoint cannot be
    /// restored at all (see ``Pipeline/run(checkpoints:)``, which then fails with the reason).
    public static func latestPosition(of name: String, in directory: String) -> SourcePosition? {
        let restored = try? CheckpointStore.latest(in: directory, logger: Logger(label: "streamkit.checkpoints"))
        return restored?.sources[name]
    }
}
