import Foundation
import Logging

/// How a ``Pipeline`` runs: parallelism, batch size, queue sizes and logging.
public struct PipelineConfiguration: Sendable {
    /// How many workers run the keyed part of the graph (after ``DataStream/key(name:by:)-(_,(Element)->Key)``);
    /// `nil` (the default) lets the pipeline choose from its graph.
    ///
    /// The rule for `nil`: as many workers as the sources have tasks (one per partition, see
    /// ``Pipeline/source(partitions:name:)``), at most one per core. Behind one unpartitioned
    /// source that is one worker: a single reader cannot feed two workers faster than it feeds
    /// one, and for windows and light keyed functions the exchange between them costs more than the
    /// work it spreads. Set a number when the keyed work per element is heavy (a costly
    /// ``KeyedProcessFunction``), so that spreading it pays.
    public var workers: Int?
    /// How many elements sources read per batch.
    public var batchSize: Int
    /// How many batches may wait in the queue in front of each worker before its producers wait.
    public var channelCapacity: Int
    /// How often idle inputs are checked for.
    public var tickInterval: Duration
    /// Where the pipeline logs.
    public var logger: Logger
    /// Whether tumbling and calendar windows aggregate in one phase or two; see
    /// ``AggregationPhases``.
    public var aggregationPhases = AggregationPhases.automatic

    /// Creates a configuration; every setting has a default.
    public init(
        workers: Int? = nil,
        batchSize: Int = 4096,
        channelCapacity: Int = 16,
        tickInterval: Duration = .milliseconds(100),
        logger: Logger = Logger(label: "StreamKit")
    ) {
        self.workers = workers
        self.batchSize = batchSize
        self.channelCapacity = channelCapacity
        self.tickInterval = tickInterval
        self.logger = logger
    }

    /// The mistakes in this configuration, as messages that say what to change.
    func problems() -> [String] {
        var problems: [String] = []
        if let workers, workers < 1 {
            problems.append("workers is \(workers): use at least 1, or nil to let the pipeline choose")
        }
        if batchSize < 1 { problems.append("batchSize is \(batchSize): use at least 1 (4096 is a good default)") }
        if channelCapacity < 1 { problems.append("channelCapacity is \(channelCapacity): use at least 1") }
        if tickInterval <= .zero { problems.append("tickInterval is \(tickInterval): use a positive duration") }
        return problems
    }
}

/// Whether a window aggregates in one phase — every element crosses the exchange to the worker that
/// owns its key — or in two: each task in front of the exchange aggregates its own elements per key
/// and window, and only partial aggregates (and the elements that arrive after their window's
/// partial aggregate has left) cross to the workers, which merge them.
///
/// Two phases move the per-element work into the tasks that read the input, so they scale with a
/// partitioned source (``Pipeline/source(partitions:name:)``) and send a few partial aggregates
/// instead of every element. Behind one source, results, late elements and late counts are those of
/// one phase, up to the rounding of floating-point sums merged in another order; behind several
/// partitions, which stragglers are late depends, in either mode, on how far apart the partitions'
/// tasks run. Elements that arrive after their window's partial aggregate left are held briefly and
/// sent together (see the repository's `docs/scaling-out.md`). Two phases apply to tumbling and
/// calendar windows whose `key(by:)` feeds nothing else and follows a source (stateless operators
/// between them do not matter), in pipelines where no input can go idle (an idle input stops
/// holding the workers' watermark back); other windows run in one phase.
public enum AggregationPhases: Sendable, Hashable {
    /// Two phases behind a partitioned source, one otherwise.
    case automatic
    /// One phase.
    case one
    /// Two phases wherever they apply, also behind a single source with several workers.
    case two
}
