import Foundation
import Logging

/// How a ``Pipeline`` runs: parallelism, batch size, queue sizes and logging.
public struct PipelineConfiguration: Sendable {
    /// How many workers run the keyed part of the graph (after ``DataStream/key(name:by:)-(_,(Element)->Key)``).
    /// The default is the number of cores.
    public var workers: Int
    /// How many elements sources read per batch.
    public var batchSize: Int
    /// How many batches may wait in the queue in front of each worker before its producers wait.
    public var channelCapacity: Int
    /// How often idle inputs are checked for.
    public var tickInterval: Duration
    /// Where the pipeline logs.
    public var logger: Logger
    /// Whether windows behind a partitioned source aggregate in two steps: each partition's task
    /// aggregates its own elements and only partial aggregates cross to the workers. It applies to
    /// tumbling and calendar windows whose key-by feeds nothing else, when no input can go idle;
    /// the results are the same either way, up to the rounding of floating-point sums merged in another order. Turn it off to send every element through the exchange.
    public var localAggregation = true

    /// Creates a configuration; every setting has a default.
    public init(
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
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
        if workers < 1 { problems.append("workers is \(workers): use at least 1") }
        if batchSize < 1 { problems.append("batchSize is \(batchSize): use at least 1 (4096 is a good default)") }
        if channelCapacity < 1 { problems.append("channelCapacity is \(channelCapacity): use at least 1") }
        if tickInterval <= .zero { problems.append("tickInterval is \(tickInterval): use a positive duration") }
        return problems
    }
}
