import CoreMetrics

/// The names of the metrics StreamKit reports through swift-metrics. They reach whatever backend
/// the program bootstraps (`MetricsSystem.bootstrap`); with none they cost next to nothing. Every
/// metric carries the label `pipeline`; the per-operator ones carry `operator` (the node's name in
/// the pipeline, as in ``Pipeline/diagram(_:)``).
public enum StreamKitMetrics {
    /// Counter: records read by a source.
    public static let recordsIn = "streamkit_records_in_total"
    /// Counter: records written by a sink.
    public static let recordsOut = "streamkit_records_out_total"
    /// Counter: records rejected to an error output (decoding, parsing, validation).
    public static let errors = "streamkit_errors_total"
    /// Counter: records a window found late, sent to its late output.
    public static let lateRecords = "streamkit_late_records_total"
    /// Counter: records dropped by `deduplicate(by:within:)` as copies of one seen before.
    public static let duplicates = "streamkit_duplicates_total"
    /// Gauge: the watermark of an event-time operator, in seconds since the Unix epoch.
    public static let watermark = "streamkit_watermark_seconds"
    /// Gauge: processing time minus the watermark, in seconds, when the watermark last moved.
    public static let watermarkLag = "streamkit_watermark_lag_seconds"
    /// Gauge: messages (batches, watermarks, barriers) waiting in the queue in front of a stage,
    /// labelled with the stage's first operator and `instance` (the worker). A queue that stays
    /// near its capacity (`PipelineConfiguration.channelCapacity`) marks the stage that holds
    /// its upstream back: backpressure.
    public static let queueDepth = "streamkit_queue_depth"
    /// Counter: checkpoints that failed (a state file or manifest that could not be written); the
    /// pipeline stops with the error.
    public static let checkpointFailures = "streamkit_checkpoint_failures_total"
    /// Counter: checkpoints completed.
    public static let checkpoints = "streamkit_checkpoints_total"
    /// Timer: how long checkpoints take, from the barrier's injection to the manifest.
    public static let checkpointDuration = "streamkit_checkpoint_duration_seconds"
    /// Gauge: the bytes of the last checkpoint's state files.
    public static let checkpointSize = "streamkit_checkpoint_size_bytes"
    /// Gauge: when the last checkpoint completed, in seconds since the Unix epoch (its age is
    /// `time() - streamkit_last_checkpoint_timestamp_seconds` in PromQL).
    public static let lastCheckpoint = "streamkit_last_checkpoint_timestamp_seconds"
}

/// The metrics of one operator, labelled with its pipeline and its name.
struct OperatorMetrics: Sendable {
    let dimensions: [(String, String)]

    init(pipeline: String, operator name: String) {
        dimensions = [("pipeline", pipeline), ("operator", name)]
    }

    init(pipeline: String, operator name: String, instance: Int) {
        dimensions = [("pipeline", pipeline), ("operator", name), ("instance", String(instance))]
    }

    init(_ context: BuildContext) {
        self.init(pipeline: context.pipelineName, operator: context.nodeName)
    }

    func counter(_ label: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions)
    }

    func gauge(_ label: String) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: label, dimensions: dimensions)
    }
}
