import CoreMetrics
import Dispatch
import Foundation
import Logging
import StreamKit
import Synchronization

/// Scale-out over Kafka: one copy of a pipeline per partition assigned to this process, each with
/// its own checkpoints in a directory every process can reach.
///
/// Copies of a program that run `KafkaPartitionedPipelines` with the same group share the topic's
/// partitions through Kafka's group protocol. When a partition is assigned, a pipeline copy starts
/// for it and restores the partition's last checkpoint (keyed state, window contents, offset) from
/// `checkpointDirectory/<topic>-<partition>`; when it is revoked, the copy stops gracefully with a
/// final checkpoint before the partition goes. A copy that fails (a sink's error, a full disk) is
/// logged and restarted from its last checkpoint after a backoff (1 s, doubling up to 30 s), so
/// one partition's trouble neither stops the process nor the other copies. If a process dies
/// (SIGKILL), the group gives its
/// partitions to the others after the session timeout, and their copies resume from the last
/// completed checkpoints: exactly-once state, and exactly-once output for sinks that commit on
/// checkpoints (``StreamKit/UpsertFileSink``).
///
/// Keyed state is partitioned by Kafka partition: this is correct when every key lives in one
/// partition, as when producers partition by the key a pipeline groups by (Kafka's default
/// partitioner does). This is the model of Kafka Streams' tasks.
///
/// ```swift
/// let group = KafkaPartitionedPipelines(kafka, topic: "readings", groupID: "minutes",
///                                       checkpointDirectory: "/shared/checkpoints") { pipeline, records, partition in
///     records.tryMap { try Reading($0) }
///         .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
///         .key(by: { $0.sensor }).window(.tumbling(.minutes(1))).aggregate(Count())
///         .sink(UpsertFileSink(path: "out/\(partition.topic)-\(partition.partition).csv", …))
/// }
/// try await group.run()
/// ```
public final class KafkaPartitionedPipelines: Sendable, RDKafkaRebalanceHandler {
    /// Adds the graph of one partition's copy to `pipeline`, reading `records`.
    public typealias Build =
        @Sendable (_ pipeline: Pipeline, _ records: DataStream<KafkaRecord>, _ partition: KafkaPartition) -> Void

    /// Brokers and librdkafka properties.
    public let configuration: KafkaConfiguration
    /// The topic whose partitions are shared out.
    public let topic: String
    /// The consumer group: the processes that share the work.
    public let groupID: String
    /// The shared checkpoint directory; each partition's copy uses `<topic>-<partition>` in it.
    public let checkpointDirectory: String
    /// How often each copy takes a checkpoint.
    public let checkpointInterval: Duration
    /// The pipeline settings of each copy.
    public let pipelineConfiguration: PipelineConfiguration
    let build: Build

    private struct Copy {
        let control: CopyControl
        let done: DispatchSemaphore
        let task: Task<Void, Never>
    }

    /// The pipeline a partition's copy runs now (a new one after each restart), and whether the
    /// partition was revoked, which ends the copy's restarts.
    private final class CopyControl: Sendable {
        private let state = Mutex<(pipeline: Pipeline?, revoked: Bool)>((nil, false))

        /// Makes `pipeline` the current one, unless the partition was revoked meanwhile.
        func begin(_ pipeline: Pipeline) -> Bool {
            state.withLock { state in
                guard !state.revoked else { return false }
                state.pipeline = pipeline
                return true
            }
        }

        /// Stops the current pipeline with a final checkpoint, and every restart.
        func revoke() {
            let pipeline = state.withLock { state in
                state.revoked = true
                return state.pipeline
            }
            pipeline?.stop()
        }

        var isRevoked: Bool { state.withLock { $0.revoked } }
    }

    private struct State {
        var copies: [KafkaPartition: Copy] = [:]
        var stopping = false
        var failure: (any Error)?
        /// The queues of the partitions being assigned, made before the assignment.
        var assigning: [KafkaPartition: RDKafkaQueue] = [:]
    }

    private let state = Mutex(State())
    private let client = Mutex<RDKafkaClient?>(nil)
    /// Counter: pipeline copies restarted after a failure.
    private let restarts = CoreMetrics.Counter(label: "streamkit_kafka_copy_restarts_total")

    /// Creates the runner; nothing connects before ``run()``.
    public init(
        _ configuration: KafkaConfiguration,
        topic: String,
        groupID: String,
        checkpointDirectory: String,
        checkpointInterval: Duration = .seconds(5),
        pipelineConfiguration: PipelineConfiguration = PipelineConfiguration(workers: 1),
        build: @escaping Build
    ) {
        self.configuration = configuration
        self.topic = topic
        self.groupID = groupID
        self.checkpointDirectory = checkpointDirectory
        self.checkpointInterval = checkpointInterval
        self.pipelineConfiguration = pipelineConfiguration
        self.build = build
    }

    /// The partitions this process runs now.
    public var partitions: Set<KafkaPartition> { Set(state.withLock { $0.copies.keys }) }

    /// Joins the group and runs a copy per assigned partition until ``stop()``.
    /// - Throws: When the brokers or the topic cannot be reached, or a copy fails.
    public func run() async throws {
        let handle = try RDKafkaClient.consumer(
            configuration,
            overrides: [
                "group.id": groupID,
                "enable.auto.commit": "false",
                "enable.auto.offset.store": "false",
                "auto.offset.reset": configuration.properties["auto.offset.reset"] ?? "earliest",
                // Eager rebalancing: every revoke is complete before the next assignment, which the
                // per-partition checkpoints rely on (cooperative protocols would need incremental
                // assignment calls).
                "partition.assignment.strategy": "range,roundrobin",
            ],
            rebalance: self
        )
        try handle.checkCluster(topics: [topic], timeout: configuration.startupTimeout)
        try handle.subscribe([topic])
        client.withLock { $0 = handle }
        // The group protocol and the rebalance callback run in the consumer's poll, on a thread of
        // its own: the callback waits for copies to stop, which must not block the task pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                while !state.withLock({ $0.stopping }) {
                    // Records go to the partitions' queues; what arrives here is an event or error.
                    guard let error = handle.pollGroupEvent(timeout: .milliseconds(100)) else { continue }
                    if let fatal = handle.fatalError {
                        fail(StreamKitError(code: .sourceFailed, message: "Kafka consumer failed: \(fatal) (\(error))"))
                    } else {
                        logger.warning("Kafka consumer error", metadata: ["error": "\(error)"])
                    }
                }
                // Leaving the group revokes every partition: each copy stops with a checkpoint.
                handle.closeConsumer()
                continuation.resume()
            }
            thread.name = "streamkit-kafka-group"
            thread.start()
        }
        client.withLock { $0 = nil }
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Stops: every copy takes a final checkpoint, and the process leaves the group.
    public func stop() {
        state.withLock { $0.stopping = true }
    }

    private var logger: Logger { pipelineConfiguration.logger }

    /// Before an assignment, on the poll thread: separates each partition's queue from the consumer
    /// queue before fetching starts, and starts each partition at its checkpointed offset.
    func assigning(_ partitions: [KafkaPartition]) -> [KafkaPartition: Int64] {
        guard let client = client.withLock({ $0 }) else { return [:] }
        var queues: [KafkaPartition: RDKafkaQueue] = [:]
        var offsets: [KafkaPartition: Int64] = [:]
        for partition in partitions {
            guard let queue = client.partitionQueue(partition) else {
                fail(StreamKitError(code: .sourceFailed, message: "no librdkafka queue for partition \(partition)"))
                continue
            }
            queues[partition] = queue
            if let offset = CheckpointConfiguration.latestPosition(of: "kafka", in: checkpointPath(partition))?
                .offsets["offset"]
            {
                offsets[partition] = offset
            }
        }
        state.withLock { $0.assigning = queues }
        return offsets
    }

    /// After an assignment, on the poll thread: starts a copy per partition.
    func assigned(_ partitions: [KafkaPartition], error: StreamKitError?) {
        let queues = state.withLock { state in
            defer { state.assigning = [:] }
            return state.assigning
        }
        if let error {
            fail(error)
            return
        }
        guard let client = client.withLock({ $0 }) else { return }
        for (partition, queue) in queues { start(partition, client: client, queue: queue) }
        logger.info("Kafka partitions assigned", metadata: ["partitions": "\(partitions)", "group": "\(groupID)"])
    }

    /// Before a revocation, on the poll thread: stops the partitions' copies, with a final
    /// checkpoint unless the partitions are lost already, and waits for them.
    func revoking(_ partitions: [KafkaPartition], lost: Bool) {
        let leaving = state.withLock { state in
            partitions.compactMap { state.copies.removeValue(forKey: $0) }
        }
        if lost {
            // The group has given these partitions away already (this process missed its session
            // timeout): another member may be restoring them. Stop at once, without a final
            // checkpoint that could overwrite the new owner's.
            logger.warning("Kafka partitions lost", metadata: ["partitions": "\(partitions)", "group": "\(groupID)"])
            for copy in leaving {
                copy.control.revoke()
                copy.task.cancel()
            }
        } else {
            for copy in leaving { copy.control.revoke() }
        }
        for copy in leaving { copy.done.wait() }
        logger.info("Kafka partitions revoked", metadata: ["partitions": "\(partitions)", "group": "\(groupID)"])
    }

    /// Starts the copy of one partition, restoring its last checkpoint; restarts it from its last
    /// checkpoint when it fails, until the partition is revoked.
    private func start(_ partition: KafkaPartition, client: RDKafkaClient, queue: RDKafkaQueue) {
        let control = CopyControl()
        let done = DispatchSemaphore(value: 0)
        let checkpoints = CheckpointConfiguration.every(checkpointInterval, in: checkpointPath(partition))
        let origin = PartitionOrigin()
        let task = Task { [self] in
            var failures = 0
            while !Task.isCancelled {
                let pipeline = Pipeline(
                    "\(groupID)-\(partition.topic)-\(partition.partition)",
                    configuration: pipelineConfiguration
                )
                let records = pipeline.source(
                    KafkaPartitionSource(
                        partition: partition,
                        client: client,
                        queue: queue,
                        logger: logger,
                        origin: origin,
                        restarted: failures > 0
                    ),
                    name: "kafka"
                )
                build(pipeline, records, partition)
                guard control.begin(pipeline) else { break }
                do {
                    try await pipeline.run(checkpoints: checkpoints)
                    break
                } catch is CancellationError {
                    // Stopped without a checkpoint: the partition was lost.
                    break
                } catch {
                    failures += 1
                    let delay = Duration.seconds(min(30, 1 << min(failures - 1, 5)))
                    logger.error(
                        "pipeline copy failed; it restarts from its last checkpoint",
                        metadata: [
                            "partition": "\(partition)", "error": "\(error)", "failures": "\(failures)",
                            "delay": "\(delay)",
                        ]
                    )
                    restarts.increment()
                    // The wait ends early when the partition is revoked or the process stops: the
                    // rebalance callback waits for this task.
                    let until = ContinuousClock.now + delay
                    while ContinuousClock.now < until, !Task.isCancelled, !control.isRevoked,
                        !state.withLock({ $0.stopping })
                    {
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    if control.isRevoked || state.withLock({ $0.stopping }) { break }
                }
            }
            done.signal()
        }
        state.withLock { $0.copies[partition] = Copy(control: control, done: done, task: task) }
    }

    /// The checkpoint directory of a partition's copy.
    private func checkpointPath(_ partition: KafkaPartition) -> String {
        "\(checkpointDirectory)/\(partition.topic)-\(partition.partition)"
    }

    /// Records the first failure and stops the runner.
    private func fail(_ error: any Error) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
            state.stopping = true
        }
    }
}
