import Synchronization

/// A dataflow graph of sources, operators and sinks, and the program that runs it.
///
/// Build the graph by calling ``source(_:name:)-37slp`` and chaining operators on the typed
/// ``DataStream`` it returns; every stream must end in a sink. Then call ``run()``: it returns when
/// every bounded source is exhausted and every window has fired, or throws the first error.
///
/// ```swift
/// let pipeline = Pipeline("minute-means")
/// let means = CollectingSink<WindowResult<String, (Int, Double)>>()
/// pipeline
///     .source(SequenceSource(readings))
///     .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
///     .key(by: { $0.sensor })
///     .window(.tumbling(.minutes(1)))
///     .aggregate(Count(), Mean { $0.value })
///     .sink(means)
/// try await pipeline.run()
/// ```
///
/// - Important: A pipeline runs once. Build a new one to run the graph again.
public final class Pipeline: Sendable {
    /// The pipeline's name, used in logs, metrics and checkpoints.
    public let name: String
    /// How the pipeline runs.
    public let configuration: PipelineConfiguration

    let graph = Mutex(PipelineGraph())
    private let started = Atomic<Bool>(false)
    let stopSignal = StopSignal()

    /// Stops the running pipeline gracefully: the sources stop reading, what they read is
    /// processed, and with checkpoints a final checkpoint is taken, so that a restart continues
    /// exactly where this run stopped, losing and repeating nothing. Windows that are still open
    /// are not fired: they continue in the next run. ``run()`` then returns normally.
    ///
    /// Safe to call from any task or thread, also before the pipeline has started.
    public func stop() {
        stopSignal.request()
    }

    /// Creates an empty pipeline.
    /// - Parameters:
    ///   - name: The pipeline's name.
    ///   - configuration: Parallelism, batch size, queues and logging.
    public init(_ name: String, configuration: PipelineConfiguration = PipelineConfiguration()) {
        self.name = name
        self.configuration = configuration
    }

    /// Adds a source to the graph.
    /// - Parameters:
    ///   - source: Where the elements come from.
    ///   - name: A stable name for the source (default: `source-N`).
    /// - Returns: The stream of the source's elements. Records the source rejects are on its
    ///   ``DataStream/errors`` output.
    @inlinable
    public func source<S: Source>(_ source: S, name: String? = nil) -> DataStream<S.Element> {
        // Formed here, in the caller's module, so that the reader's `read` is called directly.
        addSource(partitions: [source], name: name) { reader, count in try await reader.read(maximumCount: count) }
    }

    /// Adds a source whose partitions are read in parallel, one task per partition.
    ///
    /// Use it when the input is already split: a topic's partitions, a list of files, an MQTT shared
    /// subscription read by several connections. The operators between the source and the first
    /// ``DataStream/key(name:by:)-(_,(Element)->Key)`` run in each partition's task; the keyed
    /// part receives from every partition, and its watermark is the minimum over the partitions
    /// that are not idle. Each partition's position is recorded in checkpoints, so a restart must
    /// use the same number of partitions.
    ///
    /// ```swift
    /// let files = ["readings-1.jsonl", "readings-2.jsonl"].map { JSONLinesSource<Reading>(path: $0) }
    /// pipeline.source(partitions: files)
    ///     .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
    ///     .key(by: { $0.sensor })
    /// ```
    /// - Parameters:
    ///   - partitions: The partitions, each a source of the same type.
    ///   - name: A stable name for the source (default: `source-N`).
    /// - Returns: The stream of all partitions' elements.
    @inlinable
    public func source<S: Source>(partitions: [S], name: String? = nil) -> DataStream<S.Element> {
        addSource(partitions: partitions, name: name) { reader, count in try await reader.read(maximumCount: count) }
    }

    @usableFromInline
    func addSource<S: Source>(
        partitions: [S],
        name: String?,
        read: @escaping SourceStage<S.Reader>.Read
    ) -> DataStream<S.Element> {
        if partitions.isEmpty {
            reportProblem("a partitioned source has no partitions: pass at least one source in partitions:")
        }
        let id = graph.withLock { graph in
            let id = graph.nodes.count
            let nodeName = graph.uniqueName(name, kind: "source")
            let factory: NodeFactory = { context, outputs, clockUsers in
                var reader = try await partitions[context.instance].makeReader(
                    context: SourceContext(
                        name: context.nodeName,
                        batchSize: context.configuration.batchSize,
                        tickInterval: context.configuration.tickInterval,
                        isCheckpointed: context.checkpoints != nil
                    )
                )
                let key = CheckpointStore.positionKey(context.nodeName, instance: context.instance)
                if let position = context.restored?.sources[key] {
                    do {
                        try await reader.seek(to: position)
                    } catch {
                        throw StreamKitError(
                            code: .checkpoint,
                            message:
                                "source '\(key)' cannot resume from checkpoint \(context.restored!.id) at \(position)",
                            underlying: error
                        )
                    }
                }
                return SourceStage<S.Reader>(
                    reader: reader,
                    read: read,
                    downstream: Downstream(erased: outputs[PortIndex.main]),
                    errors: ErrorOutput(outputs[PortIndex.errors], origin: context.nodeName, context: context),
                    batchSize: context.configuration.batchSize,
                    clockUsers: clockUsers.users,
                    name: context.nodeName,
                    instance: context.instance,
                    checkpoints: context.checkpoints,
                    retiring: context.stageParticipants,
                    stopSignal: context.stopSignal
                ) as any StageRunner
            }
            graph.nodes.append(
                GraphNode(
                    id: id,
                    name: nodeName,
                    label: "source \(String(describing: S.self).prefix(while: { $0 != "<" }))"
                        + (partitions.count > 1 ? " × \(partitions.count) partitions" : ""),
                    role: .source,
                    inputs: [],
                    inputType: nil,
                    outputTypes: [PortIndex.main: TypedPort<S.Element>(), PortIndex.errors: TypedPort<ErrorRecord>()],
                    timeRule: .inherits,
                    isStateful: false,
                    factory: factory,
                    partitions: Swift.max(partitions.count, 1),
                    sourceIdentities: partitions.map { partition in { partition.identity } }
                )
            )
            return id
        }
        return DataStream(pipeline: self, port: PortRef(node: id, port: PortIndex.main))
    }

    /// Adds an in-memory sequence as a source.
    @inlinable
    public func source<S: Sequence & Sendable>(_ elements: S, name: String? = nil) -> DataStream<S.Element>
    where S.Element: Sendable {
        source(SequenceSource(elements), name: name)
    }

    /// Merges streams of one type into one stream. The watermark of the result is the minimum over
    /// the inputs that are not idle.
    public func merge<Element>(_ streams: [DataStream<Element>], name: String? = nil) -> DataStream<Element> {
        precondition(streams.allSatisfy { $0.pipeline === self }, "merge streams of the same pipeline")
        return addNode(
            kind: "merge",
            label: "merge",
            name: name,
            role: .merge,
            inputs: streams.map(\.port),
            inputType: TypedPort<Element>(),
            outputTypes: [PortIndex.main: TypedPort<Element>()],
            timeRule: .inherits
        ) { _, outputs, _ in
            PassThroughOperator<Element>(downstream: Downstream(erased: outputs[PortIndex.main]))
                as any BatchOperator<Element>
        }
    }

    /// Merges streams of one type into one stream; see ``merge(_:name:)-(_,_)``.
    public func merge<Element>(_ streams: DataStream<Element>..., name: String? = nil) -> DataStream<Element> {
        merge(streams, name: name)
    }

    /// Records a configuration mistake, reported when the pipeline starts.
    func reportProblem(_ problem: String) {
        graph.withLock { $0.problems.append(problem) }
    }

    /// Adds a node and returns a stream of its main output.
    @discardableResult
    func addNode<Output>(
        kind: String,
        label: String,
        name: String?,
        role: NodeRole,
        inputs: [PortRef],
        inputType: any PortType,
        outputTypes: [Int: any PortType],
        timeRule: TimeRule,
        isStateful: Bool = false,
        makeExchange: (@Sendable ([AnyObject], Int) -> Any)? = nil,
        factory: NodeFactory?
    ) -> DataStream<Output> {
        let id = graph.withLock { graph in
            let id = graph.nodes.count
            graph.nodes.append(
                GraphNode(
                    id: id,
                    name: graph.uniqueName(name, kind: kind),
                    label: label,
                    role: role,
                    inputs: inputs,
                    inputType: inputType,
                    outputTypes: outputTypes,
                    timeRule: timeRule,
                    isStateful: isStateful,
                    factory: factory,
                    makeExchange: makeExchange
                )
            )
            return id
        }
        return DataStream(pipeline: self, port: PortRef(node: id, port: PortIndex.main))
    }

    /// Sets the factory of a node created without one.
    func complete(
        node: Int,
        label: String,
        outputType: any PortType,
        factory: @escaping NodeFactory,
        split: WindowSplit? = nil
    ) -> Bool {
        graph.withLock { graph in
            guard graph.nodes[node].factory == nil else { return false }
            graph.nodes[node].factory = factory
            graph.nodes[node].split = split
            graph.nodes[node].label = label
            graph.nodes[node].outputTypes[PortIndex.main] = outputType
            return true
        }
    }

    /// Records the configuration of a stateful node, which checkpoints compare on restore.
    func setFingerprint(node: Int, _ configuration: String) {
        graph.withLock { $0.nodes[node].fingerprint = configuration }
    }

    /// The name of a node.
    func nodeName(_ node: Int) -> String {
        graph.withLock { $0.nodes[node].name }
    }

    /// Runs the pipeline until its bounded sources are exhausted and every window has fired.
    ///
    /// Unbounded sources (MQTT, Kafka) make the pipeline run until the task is cancelled.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/invalidGraph`` or
    ///   ``StreamKitError/Code/invalidConfiguration`` before anything runs when the graph or the
    ///   configuration has a mistake; otherwise the first error a source, operator or sink threw.
    public func run() async throws {
        guard !started.exchange(true, ordering: .relaxed) else {
            throw StreamKitError(
                code: .invalidGraph,
                message: "pipeline '\(name)' has already run: build a new Pipeline"
            )
        }
        let plan = try ExecutionPlan(
            graph: graph.withLock { $0 },
            configuration: configuration,
            pipelineName: name,
            stopSignal: stopSignal
        )
        try await plan.run(checkpoints: nil)
    }

    /// Runs the pipeline with checkpoints: resumes from the newest complete checkpoint in the
    /// configuration's directory (unless ``CheckpointConfiguration/fresh``), and takes a new one every
    /// ``CheckpointConfiguration/interval``.
    ///
    /// A checkpoint is a consistent cut: each source records its position and sends a barrier,
    /// every stateful operator (windows, keyed process functions, event-time clocks, and the sinks
    /// that prepare commits) stores its state when the barrier passes. After a crash, the restarted
    /// pipeline restores that state and rewinds its sources, so its results equal those of an
    /// uninterrupted run (exactly-once state; exactly-once output with sinks that are idempotent or
    /// commit on checkpoints).
    /// - Throws: Everything ``run()`` throws; ``StreamKitError/Code/checkpoint`` when the checkpoint
    ///   to restore does not fit the graph (an operator with state was renamed or removed, a state
    ///   type changed).
    public func run(checkpoints: CheckpointConfiguration) async throws {
        guard !started.exchange(true, ordering: .relaxed) else {
            throw StreamKitError(
                code: .invalidGraph,
                message: "pipeline '\(name)' has already run: build a new Pipeline"
            )
        }
        if let problem = checkpoints.problems().first {
            throw StreamKitError(code: .invalidConfiguration, message: "pipeline '\(name)' cannot start: \(problem)")
        }
        let plan = try ExecutionPlan(
            graph: graph.withLock { $0 },
            configuration: configuration,
            pipelineName: name,
            stopSignal: stopSignal
        )
        try await plan.run(checkpoints: checkpoints)
    }

    /// Checks the graph and the configuration without running anything.
    /// - Throws: The error ``run()`` would throw before starting.
    public func validate() throws {
        _ = try ExecutionPlan(
            graph: graph.withLock { $0 },
            configuration: configuration,
            pipelineName: name,
            stopSignal: stopSignal
        )
    }
}
