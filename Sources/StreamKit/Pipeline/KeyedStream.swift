/// A stream partitioned by key, made by ``DataStream/key(name:by:)-(_,(Element)->Key)``: the input of
/// windows and keyed process functions, which keep state per key.
public struct KeyedStream<Key: Hashable & Sendable & Codable, Element: Sendable>: Sendable {
    /// The partitioned stream.
    public let stream: DataStream<Element>
    /// The key of an element.
    public let key: @Sendable (Element) -> Key

    /// Groups the stream's elements into windows per key.
    /// - Parameters:
    ///   - spec: Which windows an element belongs to.
    ///   - allowedLateness: How long after a window has fired late elements still update it. An
    ///     element whose window ended, plus this, at or before the watermark goes to
    ///     ``WindowedStream/late``.
    ///   - name: A stable name for the window operator (default: `window-N`).
    public func window(_ spec: WindowSpec, allowedLateness: Duration = .zero, name: String? = nil)
        -> WindowedStream<Key, Element>
    {
        let pipeline = stream.pipeline
        for problem in spec.problems() { pipeline.reportProblem(problem) }
        if allowedLateness < .zero {
            pipeline.reportProblem("allowed lateness is \(allowedLateness): use .zero or a positive duration")
        }
        let placeholder: DataStream<Never> = stream.then(
            kind: "window",
            label: "window \(spec)",
            name: name,
            role: .keyed,
            outputTypes: [PortIndex.late: TypedPort<Element>()],
            timeRule: .requires,
            isStateful: true,
            factory: nil
        )
        return WindowedStream(keyed: self, spec: spec, allowedLateness: allowedLateness, node: placeholder.port.node)
    }

    /// Runs your own stateful operator on each key: see ``KeyedProcessFunction``.
    /// - Parameters:
    ///   - function: The operator.
    ///   - name: A stable name for the operator (default: `process-N`); its state is stored under
    ///     this name in checkpoints.
    /// - Returns: The stream of what the function emits. Elements whose call threw are on the
    ///   result's ``DataStream/errors`` output.
    public func process<Function: KeyedProcessFunction>(_ function: Function, name: String? = nil)
        -> DataStream<Function.Output>
    where Function.Key == Key, Function.Input == Element {
        let key = self.key
        let processed: DataStream<Function.Output> = stream.then(
            kind: "process",
            label: "process \(String(describing: Function.self).prefix(while: { $0 != "<" }))",
            name: name,
            role: .keyed,
            outputTypes: [PortIndex.errors: TypedPort<ErrorRecord>()],
            timeRule: .requires,
            isStateful: true
        ) { context, outputs, _ in
            let process = KeyedProcessOperator(
                function: function,
                key: key,
                downstream: Downstream(erased: outputs[PortIndex.main]),
                errors: ErrorOutput(outputs[PortIndex.errors], origin: context.nodeName, context: context),
                instance: context.instance
            )
            try context.restore(process)
            return process as any BatchOperator<Element>
        }
        stream.pipeline.setFingerprint(
            node: processed.port.node,
            "process function \(String(reflecting: Function.self)), key \(String(reflecting: Key.self))"
        )
        return processed
    }
}

/// A keyed stream grouped into windows, made by ``KeyedStream/window(_:allowedLateness:name:)``:
/// call ``aggregate(_:)`` to say what each window computes.
public struct WindowedStream<Key: Hashable & Sendable & Codable, Element: Sendable>: Sendable {
    @usableFromInline let keyed: KeyedStream<Key, Element>
    let spec: WindowSpec
    let allowedLateness: Duration
    let node: Int

    /// The elements that arrived too late for all their windows. Connect it to a sink to keep
    /// them; otherwise they are counted and dropped.
    public var late: DataStream<Element> {
        DataStream<Never>(pipeline: keyed.stream.pipeline, port: PortRef(node: node, port: PortIndex.main))
            .sideOutput(PortIndex.late, what: "late output")
    }

    /// Computes one aggregate per key and window.
    /// - Returns: The stream of window results, each emitted when the watermark passes the
    ///   window's end.
    @inlinable
    public func aggregate<A: Aggregation>(_ aggregation: A) -> DataStream<WindowResult<Key, A.Output>>
    where A.Input == Element {
        // The kernels are formed here, in the caller's module, where the types are concrete: the
        // window loops they call are specialized for them. `twoSteps` holds those of the local and
        // global steps, for when the window aggregates in two phases (see AggregationPhases).
        makeAggregate(
            aggregation,
            kernels: WindowKernels(),
            twoSteps: TwoStepKernels(key: keyed.key)
        )
    }

    @usableFromInline
    func makeAggregate<A: Aggregation>(
        _ aggregation: A,
        kernels: WindowKernels<Key, Element, A>,
        twoSteps: TwoStepKernels<Key, Element, A>
    ) -> DataStream<WindowResult<Key, A.Output>> where A.Input == Element {
        let key = keyed.key
        let spec = self.spec
        let lateness = allowedLateness
        let pipeline = keyed.stream.pipeline
        let factory: NodeFactory = { context, outputs, _ in
            let downstream = Downstream<WindowResult<Key, A.Output>>(erased: outputs[PortIndex.main])
            let late = Downstream<Element>(erased: outputs[PortIndex.late])
            if case .session(let gap) = spec.kind {
                let sessions = SessionWindowOperator(
                    key: key,
                    aggregation: aggregation,
                    gap: gap,
                    allowedLateness: lateness,
                    downstream: downstream,
                    lateOutput: late,
                    name: context.nodeName,
                    instance: context.instance,
                    metrics: OperatorMetrics(context)
                )
                try context.restore(sessions)
                return sessions as any BatchOperator<Element>
            }
            let window = WindowOperator(
                state: WindowState(
                    key: key,
                    aggregation: aggregation,
                    spec: spec,
                    lateness: lateness.streamKitMicroseconds
                ),
                kernels: kernels,
                downstream: downstream,
                lateOutput: late,
                name: context.nodeName,
                instance: context.instance,
                metrics: OperatorMetrics(context)
            )
            try context.restore(window)
            if let locals = context.restored?.state[WindowSplit.localName(context.nodeName)] {
                // The checkpoint comes from a run that aggregated this window in two phases.
                try window.mergeLocalSteps(from: locals, instance: context.instance, instances: context.instances)
            }
            return window as any BatchOperator<Element>
        }
        let completed = pipeline.complete(
            node: node,
            label: "window \(spec)",
            outputType: TypedPort<WindowResult<Key, A.Output>>(),
            factory: factory,
            split: spec.aggregatesInTwoSteps ? self.twoSteps(aggregation, kernels: twoSteps) : nil
        )
        if !completed {
            pipeline.reportProblem(
                "window '\(pipeline.nodeName(node))' was aggregated twice: call .window(...) again for a second aggregate"
            )
        }
        pipeline.setFingerprint(
            node: node,
            "window \(spec) with allowed lateness \(allowedLateness), key \(String(reflecting: Key.self)), "
                + "aggregate \(String(reflecting: A.self))"
        )
        return DataStream(pipeline: pipeline, port: PortRef(node: node, port: PortIndex.main))
    }

    /// The factories of the local and global steps of this window, for when it aggregates in two
    /// phases: see ``LocalWindowOperator``.
    func twoSteps<A: Aggregation>(_ aggregation: A, kernels: TwoStepKernels<Key, Element, A>) -> WindowSplit
    where A.Input == Element {
        typealias Partial = PartialAggregate<Key, Element, A.Accumulator>
        let key = keyed.key
        let spec = self.spec
        let lateness = allowedLateness
        return WindowSplit(
            partialType: TypedPort<Partial>(),
            makeExchange: { channels, producer in
                ExchangeSender<Partial>(
                    channels: channels.map { $0 as! BoundedChannel<ChannelMessage<Partial>> },
                    producer: producer,
                    route: kernels.route
                ) as any BatchOperator<Partial>
            },
            makeLocal: { context, sender, clockUsers in
                let local = LocalWindowOperator(
                    state: WindowState(key: key, aggregation: LocalAggregation(aggregation), spec: spec, lateness: 0),
                    kernels: kernels,
                    downstream: Downstream(erased: [sender]),
                    name: context.nodeName,
                    instance: context.instance,
                    holdLimit: context.configuration.batchSize
                )
                try context.restore(local)
                clockUsers.users.append(local)
                return local as any BatchOperator<Element>
            },
            partitionsHoldingKeys: { snapshots, name in
                try WindowState<Key, Element, LocalAggregation<A>>.instancesHoldingKeys(in: snapshots, operator: name)
            },
            makeGlobal: { context, outputs, _ in
                let window = WindowOperator(
                    state: WindowState(
                        key: { $0.key },
                        aggregation: MergingAggregation<Key, A>(aggregation),
                        spec: spec,
                        lateness: lateness.streamKitMicroseconds
                    ),
                    kernels: kernels.global,
                    downstream: Downstream(erased: outputs[PortIndex.main]),
                    lateOutput: Downstream([
                        StragglerOutput<Key, Element, A.Accumulator>(
                            downstream: Downstream(erased: outputs[PortIndex.late])
                        )
                    ]),
                    name: context.nodeName,
                    instance: context.instance,
                    metrics: OperatorMetrics(context)
                )
                try context.restore(window)
                return RouteSelectOperator<Partial>(
                    worker: context.instance,
                    select: kernels.select,
                    downstream: Downstream([window])
                ) as any BatchOperator<Partial>
            }
        )
    }

    /// Computes two aggregates per key and window in one pass.
    @inlinable
    public func aggregate<A: Aggregation, B: Aggregation>(_ a: A, _ b: B)
        -> DataStream<WindowResult<Key, (A.Output, B.Output)>>
    where A.Input == Element, B.Input == Element {
        aggregate(AggregationPair(a, b))
    }

    /// Computes three aggregates per key and window in one pass.
    @inlinable
    public func aggregate<A: Aggregation, B: Aggregation, C: Aggregation>(_ a: A, _ b: B, _ c: C)
        -> DataStream<WindowResult<Key, (A.Output, B.Output, C.Output)>>
    where A.Input == Element, B.Input == Element, C.Input == Element {
        aggregate(MappedAggregation(AggregationPair(a, AggregationPair(b, c))) { ($0.0, $0.1.0, $0.1.1) })
    }

    /// Computes four aggregates per key and window in one pass.
    @inlinable
    public func aggregate<A: Aggregation, B: Aggregation, C: Aggregation, D: Aggregation>(
        _ a: A,
        _ b: B,
        _ c: C,
        _ d: D
    ) -> DataStream<WindowResult<Key, (A.Output, B.Output, C.Output, D.Output)>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element {
        aggregate(
            MappedAggregation(AggregationPair(AggregationPair(a, b), AggregationPair(c, d))) {
                ($0.0.0, $0.0.1, $0.1.0, $0.1.1)
            }
        )
    }

    /// Computes five aggregates per key and window in one pass.
    @inlinable
    public func aggregate<A: Aggregation, B: Aggregation, C: Aggregation, D: Aggregation, E: Aggregation>(
        _ a: A,
        _ b: B,
        _ c: C,
        _ d: D,
        _ e: E
    ) -> DataStream<WindowResult<Key, (A.Output, B.Output, C.Output, D.Output, E.Output)>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element {
        aggregate(
            MappedAggregation(AggregationPair(AggregationPair(a, b), AggregationPair(c, AggregationPair(d, e)))) {
                ($0.0.0, $0.0.1, $0.1.0, $0.1.1.0, $0.1.1.1)
            }
        )
    }
}
