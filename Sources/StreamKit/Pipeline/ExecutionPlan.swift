import Foundation
import Logging

/// A validated graph cut into stages, ready to run.
///
/// A stage is a part of the graph that one task runs without queues: a source with the stateless
/// operators after it, or the keyed part of the graph on one worker. Stages meet at bounded
/// channels: a key-partitioned exchange in front of the workers, a gather in front of a sink that
/// receives from several workers, and a merge. Each stage runs as many copies as it has
/// ``Stage/instances``.
struct ExecutionPlan: Sendable {
    struct Stage: Sendable {
        /// The node that receives from the stage's channel (or the source).
        var entry: Int
        /// How many copies of the stage run.
        var instances: Int
        /// How many producers send into each copy's channel.
        var producers: Int = 0
    }

    let graph: PipelineGraph
    let configuration: PipelineConfiguration
    /// How many workers run the keyed part: the configuration's number, or the one chosen from the
    /// graph (see ``PipelineConfiguration/workers``).
    let workers: Int
    let pipelineName: String
    let stopSignal: StopSignal
    private(set) var stages: [Stage] = []
    /// The stage of each node.
    private(set) var stageOf: [Int] = []
    /// The windows that aggregate in two steps: a local step in each partition's task, a global
    /// step on the workers (see ``LocalWindowOperator``).
    private(set) var twoStepWindows: Set<Int> = []
    /// For each node and input index: the producer index of the first copy of that input.
    private(set) var producerOffsets: [[Int]] = []
    let consumers: [PortRef: [(node: Int, input: Int)]]

    init(graph: PipelineGraph, configuration: PipelineConfiguration, pipelineName: String, stopSignal: StopSignal)
        throws
    {
        self.stopSignal = stopSignal
        self.graph = graph
        self.configuration = configuration
        let sourceTasks = graph.nodes.filter { $0.role == .source }.reduce(0) { $0 + $1.partitions }
        self.workers =
            configuration.workers ?? max(1, min(sourceTasks, ProcessInfo.processInfo.activeProcessorCount))
        self.pipelineName = pipelineName
        self.consumers = graph.consumers()
        try validate()
        planStages()
    }

    // MARK: Validation

    private func validate() throws {
        var problems = configuration.problems() + graph.problems
        if graph.nodes.isEmpty {
            problems.append("the pipeline has no source: add one with pipeline.source(...)")
        } else if !graph.nodes.contains(where: { $0.role == .sink }) {
            problems.append("the pipeline has no sink: end each stream with .sink(...)")
        }
        var hasEventTime = [Bool](repeating: false, count: graph.nodes.count)
        for node in graph.nodes {
            let inputsTimed = node.inputs.map { hasEventTime[$0.node] }
            switch node.timeRule {
            case .assigns:
                hasEventTime[node.id] = true
            case .requires:
                if inputsTimed.contains(false) {
                    problems.append(
                        "'\(node.name)' needs event time: call .eventTime(...) on its input stream before it"
                    )
                }
                hasEventTime[node.id] = true
            case .inherits:
                if Set(inputsTimed).count > 1 {
                    problems.append(
                        "'\(node.name)' merges streams with and without event time: call .eventTime(...) on every input or on none"
                    )
                }
                hasEventTime[node.id] = inputsTimed.contains(true)
            }
            if node.factory == nil {
                problems.append("'\(node.name)' is not complete: a window needs .aggregate(...) or .reduce(...)")
            }
            if node.role != .sink, consumers[PortRef(node: node.id, port: PortIndex.main)] == nil {
                problems.append(
                    "the output of '\(node.name)' goes nowhere: end the stream with .sink(...) or remove the operator"
                )
            }
        }
        if !problems.isEmpty {
            let isGraph = configuration.problems().isEmpty
            throw StreamKitError(
                code: isGraph ? .invalidGraph : .invalidConfiguration,
                message: "pipeline '\(pipelineName)' cannot start: " + problems.joined(separator: "; ")
            )
        }
    }

    // MARK: Stages

    private mutating func planStages() {
        stageOf = Array(repeating: -1, count: graph.nodes.count)
        // Node ids are assigned in creation order, and a node's inputs exist before it: id order is
        // a topological order.
        for node in graph.nodes {
            switch node.role {
            case .source:
                newStage(entry: node.id, instances: node.partitions)
            case .merge:
                newStage(entry: node.id, instances: 1)
            case .keyBy where workers > 1 || stages[stageOf[node.inputs[0].node]].instances > 1:
                if let window = twoStepWindow(after: node) {
                    // The key-by stays in the partitions' tasks, where the window's local step
                    // runs; the exchange carries partial aggregates to the global step.
                    stageOf[node.id] = stageOf[node.inputs[0].node]
                    twoStepWindows.insert(window)
                } else {
                    // Keyed state is split by key among the workers, never by the partition an
                    // element came from: the keyed part starts a stage of its own behind an exchange.
                    newStage(entry: node.id, instances: workers)
                }
            case .keyed where twoStepWindows.contains(node.id):
                newStage(entry: node.id, instances: workers)
            default:
                let inputStage = stageOf[node.inputs[0].node]
                let inputInstances = stages[inputStage].instances
                let wanted = node.role == .sink ? 1 : inputInstances
                if wanted != inputInstances {
                    newStage(entry: node.id, instances: wanted)
                } else {
                    stageOf[node.id] = inputStage
                }
            }
        }
        producerOffsets = graph.nodes.map { node in
            var offset = 0
            return node.inputs.map { input in
                defer { offset += stages[stageOf[input.node]].instances }
                return offset
            }
        }
        for index in stages.indices {
            let entry = graph.nodes[stages[index].entry]
            stages[index].producers = entry.inputs.reduce(0) { $0 + stages[stageOf[$1.node]].instances }
        }
    }

    /// The window after key-by `keyBy` that aggregates in two phases, if any (see
    /// ``AggregationPhases``): a tumbling or calendar window, the key-by's only consumer, in the
    /// tasks of a source, with no input that can go idle (an idle input stops holding the workers'
    /// watermark back, and its partial aggregates could then reach a window that has fired).
    private func twoStepWindow(after keyBy: GraphNode) -> Int? {
        // The local step runs in the tasks of a source (one per partition), whose copies do not
        // change between runs; behind the workers of an earlier keyed step it would be split by
        // their number, which may.
        let inputStage = stages[stageOf[keyBy.inputs[0].node]]
        guard graph.nodes[inputStage.entry].role == .source else { return nil }
        let partitions = inputStage.instances
        let wanted =
            switch configuration.aggregationPhases {
            case .automatic: partitions > 1
            case .two: true
            case .one: false
            }
        guard wanted, !graph.usesClock,
            let consumers = consumers[PortRef(node: keyBy.id, port: PortIndex.main)], consumers.count == 1,
            graph.nodes[consumers[0].node].split != nil
        else { return nil }
        return consumers[0].node
    }

    /// The type a stage's channel carries: its entry's input, or partial aggregates for the global
    /// step of a two-step window.
    private func channelType(of stage: Stage) -> (any PortType)? {
        let entry = graph.nodes[stage.entry]
        if twoStepWindows.contains(entry.id) { return entry.split!.partialType }
        return entry.inputType
    }

    private mutating func newStage(entry: Int, instances: Int) {
        stageOf[entry] = stages.count
        stages.append(Stage(entry: entry, instances: instances))
    }

    /// Whether a node receives from a channel rather than by direct calls.
    func isStageEntry(_ node: Int) -> Bool { stages[stageOf[node]].entry == node }

    // MARK: Running

    /// The names under which the participants of a checkpoint report: every source, stateful
    /// operator and sink, once per instance.
    var checkpointParticipants: Set<String> {
        var all: Set<String> = []
        for (stage, copies) in stages.enumerated() {
            for instance in 0..<copies.instances { all.formUnion(participants(ofStage: stage, instance: instance)) }
        }
        return all
    }

    /// The checkpoint participants of one copy of a stage: its sources, stateful operators and
    /// sinks, and the local steps of two-step windows that run in it.
    func participants(ofStage stage: Int, instance: Int) -> Set<String> {
        var names: Set<String> = []
        for node in graph.nodes
        where stageOf[node.id] == stage && (node.role == .source || node.role == .sink || node.isStateful) {
            names.insert(CheckpointStore.participant(node.name, instance: instance))
        }
        for window in twoStepWindows where stageOf[graph.nodes[window].inputs[0].node] == stage {
            names.insert(
                CheckpointStore.participant(WindowSplit.localName(graph.nodes[window].name), instance: instance)
            )
        }
        return names
    }

    /// What this pipeline is, for checkpoints: its name, its sources' identities and its stateful
    /// operators' configurations.
    var fingerprint: CheckpointFingerprint {
        var sources: [String: String] = [:]
        var operators: [String: String] = [:]
        for node in graph.nodes {
            for (instance, identify) in node.sourceIdentities.enumerated() {
                if let identity = identify() {
                    sources[CheckpointStore.positionKey(node.name, instance: instance)] = identity
                }
            }
            if let configuration = node.fingerprint { operators[node.name] = configuration }
        }
        return CheckpointFingerprint(pipeline: pipelineName, sources: sources, operators: operators)
    }

    /// Checks that a checkpoint fits this graph: every operator it holds state for still exists
    /// and still keeps state.
    func validate(_ restored: RestoredCheckpoint) throws {
        let changes = fingerprint.changes(from: restored.fingerprint)
        if !changes.isEmpty {
            let root = (restored.directory as NSString).deletingLastPathComponent
            throw StreamKitError(
                code: .checkpoint,
                message: "checkpoint \(restored.id) in '\(restored.directory)' does not belong to this pipeline: "
                    + changes.joined(separator: "; ")
                    + ". Restoring it would mix its state and positions with this run's. Change the pipeline back, "
                    + "or start fresh: remove '\(root)' or run once with CheckpointConfiguration(fresh: true)"
            )
        }
        // A window's local steps (two phases) restore into its local steps, or into the window
        // itself when this run aggregates it in one phase.
        let stateful = Set(
            graph.nodes.filter { $0.isStateful || $0.role == .sink }.map(\.name)
                + graph.nodes.filter { $0.split != nil }.map { WindowSplit.localName($0.name) }
        )
        for name in restored.state.keys.sorted() where !stateful.contains(name) {
            let existing = graph.nodes.first { $0.name == name }
            let change = existing == nil ? "no operator of that name exists any more" : "it no longer keeps state"
            throw StreamKitError(
                code: .checkpoint,
                message: "checkpoint \(restored.id) holds state for operator '\(name)', but \(change): "
                    + "give the operator its old name again, or start fresh (CheckpointConfiguration.fresh)"
            )
        }
        var positionKeys: Set<String> = []
        for node in graph.nodes where node.role == .source {
            for instance in 0..<node.partitions {
                positionKeys.insert(CheckpointStore.positionKey(node.name, instance: instance))
            }
        }
        for node in graph.nodes where node.role == .source && restored.sources[node.name] != nil {
            let missing = (1..<node.partitions).filter {
                restored.sources[CheckpointStore.positionKey(node.name, instance: $0)] == nil
            }
            if !missing.isEmpty {
                throw StreamKitError(
                    code: .checkpoint,
                    message:
                        "checkpoint \(restored.id) has no position for partitions \(missing.map(String.init).joined(separator: ", ")) "
                        + "of source '\(node.name)': it was taken with fewer partitions; use the old number of partitions, "
                        + "or start fresh (CheckpointConfiguration.fresh)"
                )
            }
        }
        for name in restored.sources.keys.sorted() where !positionKeys.contains(name) {
            throw StreamKitError(
                code: .checkpoint,
                message:
                    "checkpoint \(restored.id) holds the position of source '\(name)', which this pipeline no longer has: "
                    + "give the source its old name and number of partitions again, or start fresh (CheckpointConfiguration.fresh)"
            )
        }
        // A source without positions may restart with fewer partitions; the partial aggregates of
        // the partitions it lost would be lost with them (one with positions is refused above).
        for window in twoStepWindows.sorted() {
            let node = graph.nodes[window]
            let localName = WindowSplit.localName(node.name)
            guard let snapshots = restored.state[localName], let split = node.split else { continue }
            let partitions = stages[stageOf[node.inputs[0].node]].instances
            let lost = try split.partitionsHoldingKeys(snapshots, localName).filter { $0 >= partitions }.sorted()
            guard !lost.isEmpty else { continue }
            throw StreamKitError(
                code: .checkpoint,
                message: "checkpoint \(restored.id) holds partial aggregates of window '\(node.name)' from partitions "
                    + lost.map(String.init).joined(separator: ", ")
                    + " of its source, which this run does not have (it has \(partitions)): run with the old number "
                    + "of partitions, or once with PipelineConfiguration.aggregationPhases = .one, which merges every "
                    + "partition's partial aggregates into the window, or start fresh (CheckpointConfiguration.fresh)"
            )
        }
    }

    func run(checkpoints configuration: CheckpointConfiguration?) async throws {
        var store: CheckpointStore?
        var restored: RestoredCheckpoint?
        if let configuration {
            let logger = self.configuration.logger
            try DurableFile.createDirectory(configuration.directory, purpose: "checkpoint")
            try DurableFile.checkWritable(configuration.directory, purpose: "checkpoint")
            let finishedMarker = "\(configuration.directory)/FINISHED"
            if configuration.fresh {
                try? FileManager.default.removeItem(atPath: finishedMarker)
            } else {
                restored = try CheckpointStore.latest(in: configuration.directory, logger: logger)
                if let restored { try validate(restored) }
                if FileManager.default.fileExists(atPath: finishedMarker) {
                    logger.notice(
                        "the pipeline already processed all its input in an earlier run: nothing to do; start fresh to run it again",
                        metadata: ["pipeline": "\(pipelineName)", "checkpoints": "\(configuration.directory)"]
                    )
                    return
                }
                if let restored {
                    logger.info(
                        "restoring from checkpoint",
                        metadata: ["pipeline": "\(pipelineName)", "checkpoint": "\(restored.id)"]
                    )
                }
            }
            let newest = CheckpointStore.checkpointIDs(in: configuration.directory).max() ?? 0
            store = CheckpointStore(
                configuration: configuration,
                pipelineName: pipelineName,
                fingerprint: fingerprint,
                participants: checkpointParticipants,
                lastCompleted: Swift.max(newest, restored?.id ?? 0),
                logger: logger
            )
        }
        try await run(store: store, restored: restored)
        if let configuration, !stopSignal.anySourceStoppedEarly {
            // The input is exhausted and every result written: a later start has nothing to resume.
            // (Also when a stop was requested after every source had reached its end: the run did
            // not stop early, and resuming from an older checkpoint would write its results again.)
            try DurableFile.write(Data("\(store?.completed ?? 0)\n".utf8), to: "\(configuration.directory)/FINISHED")
        }
    }

    private func run(store: CheckpointStore?, restored: RestoredCheckpoint?) async throws {
        // One channel per copy of every stage that is not a source.
        let channels: [[AnyObject]] = stages.map { stage in
            guard let type = channelType(of: stage) else { return [] }
            return (0..<stage.instances).map { _ in type.makeChannel(capacity: configuration.channelCapacity) }
        }
        let sendableChannels = ChannelTable(channels: channels)
        let types = stages.map { channelType(of: $0) }
        let closeAll: @Sendable () -> Void = {
            for (index, type) in types.enumerated() {
                guard let type else { continue }
                for channel in sendableChannels.channels[index] { type.close(channel: channel) }
            }
        }
        configuration.logger.debug(
            "starting pipeline",
            metadata: [
                "pipeline": "\(pipelineName)", "stages": "\(stages.count)", "workers": "\(workers)",
            ]
        )
        do {
            // Cancelling the run closes every channel, so that stages waiting for input wake up
            // and see the cancellation.
            try await withTaskCancellationHandler {
                try await withThrowingTaskGroup(of: Int?.self) { group in
                    for (stageIndex, stage) in stages.enumerated() {
                        for instance in 0..<stage.instances {
                            group.addTask {
                                let runner = try await self.instantiate(
                                    stage: stageIndex,
                                    instance: instance,
                                    channels: sendableChannels.channels,
                                    checkpoints: store,
                                    restored: restored
                                )
                                try await runner.run()
                                return stageIndex
                            }
                        }
                    }
                    if needsClock {
                        group.addTask { [configuration] in
                            while !Task.isCancelled {
                                try? await Task.sleep(for: configuration.tickInterval)
                                let now = Timestamp.now
                                for (index, type) in types.enumerated() {
                                    guard let type else { continue }
                                    for channel in sendableChannels.channels[index] {
                                        type.tick(channel: channel, now: now)
                                    }
                                }
                            }
                            return nil
                        }
                    }
                    if let store {
                        group.addTask {
                            while !Task.isCancelled {
                                try? await Task.sleep(for: store.configuration.interval)
                                store.trigger()
                            }
                            return nil
                        }
                    }
                    // The clock and checkpoint tasks run until cancelled: wait for the stages, then stop them.
                    var remaining = stages.reduce(0) { $0 + $1.instances }
                    var running = stages.map(\.instances)
                    var closed = Set<Int>()
                    func next() async throws -> Int?? {
                        do {
                            return try await group.next()
                        } catch {
                            // A stage failed (a sink's error, an operator refusing its state).
                            // The group waits for the others before the error leaves it, and they
                            // wait on channels that no cancellation wakes: close the channels first.
                            group.cancelAll()
                            closeAll()
                            throw error
                        }
                    }
                    while remaining > 0, let finished = try await next() {
                        guard let stage = finished else { continue }
                        remaining -= 1
                        running[stage] -= 1
                        // After a graceful stop no end of input flows: close the channel of every
                        // stage whose producers have all returned; it handles what is buffered first.
                        guard stopSignal.isRequested else { continue }
                        for (index, candidate) in stages.enumerated() where !closed.contains(index) {
                            let producers = graph.nodes[candidate.entry].inputs.map { stageOf[$0.node] }
                            guard !producers.isEmpty, producers.allSatisfy({ running[$0] == 0 }) else { continue }
                            closed.insert(index)
                            let type = types[index]!
                            for channel in sendableChannels.channels[index] { type.close(channel: channel) }
                        }
                    }
                    group.cancelAll()
                }
            } onCancel: {
                closeAll()
            }
            try Task.checkCancellation()
        } catch {
            closeAll()
            throw error
        }
    }

    /// Whether channel-fed stages need clock ticks: an operator with an idle timeout runs there.
    private var needsClock: Bool { graph.usesClock && stages.contains { channelType(of: $0) != nil } }

    /// Builds the operators of one copy of a stage, from its entry to its edges, inside the task
    /// that will run them.
    private func instantiate(
        stage: Int,
        instance: Int,
        channels: [[AnyObject]],
        checkpoints: CheckpointStore?,
        restored: RestoredCheckpoint?
    ) async throws -> any StageRunner {
        var built: [Int: Any] = [:]
        let clockUsers = ClockUsers()
        let entry = stages[stage].entry

        func build(_ id: Int) async throws -> Any {
            if let existing = built[id] { return existing }
            let node = graph.nodes[id]
            let context = BuildContext(
                pipelineName: pipelineName,
                nodeName: node.name,
                instance: instance,
                instances: stages[stage].instances,
                configuration: configuration,
                checkpoints: checkpoints,
                restored: restored,
                stopSignal: stopSignal,
                stageParticipants: node.role == .source ? participants(ofStage: stage, instance: instance) : []
            )
            var outputs: [[Any]] = [[], [], []]
            for port in node.outputTypes.keys.sorted() {
                let portRef = PortRef(node: id, port: port)
                for (consumerID, inputIndex) in consumers[portRef] ?? [] {
                    let consumer = graph.nodes[consumerID]
                    if stageOf[consumerID] == stage && !isStageEntry(consumerID) {
                        outputs[port].append(try await build(consumerID))
                        continue
                    }
                    let target = stages[stageOf[consumerID]]
                    let producer = producerOffsets[consumerID][inputIndex] + instance
                    let targetChannels = channels[stageOf[consumerID]]
                    if twoStepWindows.contains(consumerID), let split = consumer.split {
                        // The window's local step runs here and sends partial aggregates on.
                        let sender =
                            target.instances > 1
                            ? split.makeExchange(targetChannels, producer)
                            : split.partialType.makeSender(channel: targetChannels[0], producer: producer)
                        var localContext = context
                        localContext.nodeName = WindowSplit.localName(consumer.name)
                        outputs[port].append(try await split.makeLocal(localContext, sender, clockUsers))
                        continue
                    }
                    if target.instances > 1 {
                        guard let makeExchange = consumer.makeExchange else {
                            preconditionFailure("a parallel stage must start with a key-by exchange")
                        }
                        outputs[port].append(makeExchange(targetChannels, producer))
                    } else {
                        outputs[port].append(
                            node.outputTypes[port]!.makeSender(channel: targetChannels[0], producer: producer)
                        )
                    }
                }
            }
            let factory = twoStepWindows.contains(id) ? node.split!.makeGlobal : node.factory!
            let made = try await factory(context, outputs, clockUsers)
            built[id] = made
            return made
        }

        let entryNode = graph.nodes[entry]
        // Build everything downstream first, so the clock users of the stage are known.
        let entryOperator = try await build(entry)
        if entryNode.role == .source {
            return entryOperator as! any StageRunner
        }
        return channelType(of: stages[stage])!.makeChannelStage(
            channel: channels[stage][instance],
            entry: entryOperator,
            producers: stages[stage].producers,
            clockUsers: clockUsers.users,
            stopSignal: stopSignal,
            metrics: OperatorMetrics(pipeline: pipelineName, operator: entryNode.name, instance: instance)
        )
    }
}

/// The channels of a running plan, shared by its tasks.
///
/// `@unchecked Sendable` is safe: the array is never mutated after creation, and every element is a
/// `BoundedChannel`, which is `Sendable`; it is stored as `AnyObject` only because the element
/// types differ.
struct ChannelTable: @unchecked Sendable {
    let channels: [[AnyObject]]
}
