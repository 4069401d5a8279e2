import Synchronization

/// A typed stream of elements in a ``Pipeline``'s graph: the handle on which operators are chained.
///
/// A `DataStream` is a description, not a container: each method adds a node to the graph and returns
/// the stream of that node's output. Types flow through the chain, so wiring a stream of one type
/// into an operator that expects another is a compile error. Calling two methods on the same
/// stream fans it out: both consumers receive every element.
public struct DataStream<Element: Sendable>: Sendable {
    /// The pipeline this stream belongs to.
    public let pipeline: Pipeline
    let port: PortRef

    init(pipeline: Pipeline, port: PortRef) {
        self.pipeline = pipeline
        self.port = port
    }

    /// The name of the operator or source that produces this stream.
    public var operatorName: String { pipeline.nodeName(port.node) }

    /// Adds a one-input node consuming this stream.
    func then<Output>(
        kind: String,
        label: String? = nil,
        name: String?,
        role: NodeRole = .transform,
        outputTypes: [Int: any PortType] = [:],
        timeRule: TimeRule = .inherits,
        isStateful: Bool = false,
        makeExchange: (@Sendable ([AnyObject], Int) -> Any)? = nil,
        factory: NodeFactory?
    ) -> DataStream<Output> {
        var types = outputTypes
        if types[PortIndex.main] == nil { types[PortIndex.main] = TypedPort<Output>() }
        return pipeline.addNode(
            kind: kind,
            label: label ?? kind,
            name: name,
            role: role,
            inputs: [port],
            inputType: TypedPort<Element>(),
            outputTypes: types,
            timeRule: timeRule,
            isStateful: isStateful,
            makeExchange: makeExchange,
            factory: factory
        )
    }

    /// The records rejected by the operator or source that produces this stream, each with the
    /// reason and the raw input.
    ///
    /// Sources that decode (``CSVSource``, ``JSONLinesSource``) and ``tryMap(name:_:)`` reject
    /// records; connect this output to a sink to keep them. Records nobody consumes are counted
    /// and logged as warnings.
    public var errors: DataStream<ErrorRecord> {
        sideOutput(PortIndex.errors, what: "an error output")
    }

    /// The stream of a side output port of this stream's node.
    func sideOutput<T>(_ index: Int, what: String) -> DataStream<T> {
        let exists = pipeline.graph.withLock { $0.nodes[port.node].outputTypes[index] != nil }
        if !exists {
            pipeline.reportProblem(
                "'\(operatorName)' has no \(what): only operators that can reject or drop records have one"
            )
        }
        return DataStream<T>(pipeline: pipeline, port: PortRef(node: port.node, port: index))
    }
}

// MARK: - Stateless operators

extension DataStream {
    /// Transforms each element.
    /// - Parameters:
    ///   - name: A stable name for the operator (default: `map-N`).
    ///   - transform: The function applied to each element.
    @inlinable
    public func map<Output: Sendable>(
        name: String? = nil,
        _ transform: @escaping @Sendable (Element) -> Output
    ) -> DataStream<Output> {
        transformBatches(kind: "map", name: name) { batch in batch.mapped(transform) }
    }

    /// Keeps the elements for which `isIncluded` returns `true`.
    @inlinable
    public func filter(name: String? = nil, _ isIncluded: @escaping @Sendable (Element) -> Bool) -> DataStream<Element>
    {
        transformBatches(kind: "filter", name: name) { batch in batch.filtered(isIncluded) }
    }

    /// Transforms each element and keeps the non-`nil` results.
    @inlinable
    public func compactMap<Output: Sendable>(
        name: String? = nil,
        _ transform: @escaping @Sendable (Element) -> Output?
    ) -> DataStream<Output> {
        transformBatches(kind: "compactMap", name: name) { batch in
            var output = Batch<Output>(reservingCapacity: batch.count, withTime: batch.hasEventTime)
            for index in batch.elements.indices {
                if let result = transform(batch.elements[index]) {
                    output.append(result, timeOf: index, in: batch)
                }
            }
            return output
        }
    }

    /// Transforms each element into a sequence and emits the sequence's elements, each with the
    /// event time of the element it came from.
    @inlinable
    public func flatMap<Results: Sequence>(
        name: String? = nil,
        _ transform: @escaping @Sendable (Element) -> Results
    ) -> DataStream<Results.Element> where Results: Sendable, Results.Element: Sendable {
        transformBatches(kind: "flatMap", name: name) { batch in
            var output = Batch<Results.Element>(reservingCapacity: batch.count, withTime: batch.hasEventTime)
            for index in batch.elements.indices {
                for result in transform(batch.elements[index]) {
                    output.append(result, timeOf: index, in: batch)
                }
            }
            return output
        }
    }

    /// Adds a stateless node that turns each batch into another. The closure is formed by the
    /// `@inlinable` builder methods in the caller's module, so its loop is specialized.
    @usableFromInline
    func transformBatches<Output>(
        kind: String,
        name: String?,
        _ transform: @escaping @Sendable (Batch<Element>) -> Batch<Output>
    ) -> DataStream<Output> {
        then(kind: kind, name: name) { _, outputs, _ in
            BatchTransformOperator(transform: transform, downstream: Downstream(erased: outputs[PortIndex.main]))
                as any BatchOperator<Element>
        }
    }

    /// Transforms each element with a function that may throw; an element whose function throws
    /// goes to this operator's ``errors`` output with the error as the reason, and with the
    /// element's raw bytes and location when it is a ``RawRecord`` (such as an MQTT message).
    public func tryMap<Output: Sendable>(
        name: String? = nil,
        _ transform: @escaping @Sendable (Element) throws -> Output
    ) -> DataStream<Output> {
        then(
            kind: "tryMap",
            name: name,
            outputTypes: [PortIndex.errors: TypedPort<ErrorRecord>()]
        ) { context, outputs, _ in
            TryMapOperator(
                transform: transform,
                raw: { element in
                    if let record = element as? any RawRecord {
                        return (record.rawBytes, record.rawLocation, record.rawLine, record.rawTime)
                    }
                    if let bytes = element as? [UInt8] { return (bytes, nil, nil, nil) }
                    if let text = element as? String { return (Array(text.utf8), nil, nil, nil) }
                    return (Array(String(describing: element).utf8), nil, nil, nil)
                },
                downstream: Downstream(erased: outputs[PortIndex.main]),
                errors: ErrorOutput(outputs[PortIndex.errors], origin: context.nodeName, context: context)
            ) as any BatchOperator<Element>
        }
    }

    /// Assigns each element its event time and starts tracking the watermark.
    ///
    /// - Parameters:
    ///   - timestamp: The event time of an element.
    ///   - watermark: How far out of order elements may arrive, and when the input counts as idle.
    ///   - name: A stable name for the operator (default: `eventTime-N`).
    @inlinable
    public func eventTime(
        _ timestamp: @escaping @Sendable (Element) -> Timestamp,
        watermark: WatermarkStrategy,
        name: String? = nil
    ) -> DataStream<Element> {
        makeEventTime(timestamp, watermark: watermark, name: name) { elements, clock in
            clock.assign(elements, timestamp)
        }
    }

    /// Assigns each element its event time, with the watermark taken per input partition: the
    /// minimum over the partitions that are not idle (the partitions of a Kafka topic, say), so that
    /// a partition behind the others holds the watermark back instead of seeing its elements turn
    /// late.
    ///
    /// ```swift
    /// pipeline.source(KafkaSource(kafka, topics: ["sensors"], groupID: "iot"))
    ///     .eventTime({ $0.timestamp ?? .now }, watermark: .boundedOutOfOrderness(.seconds(5), idleAfter: .seconds(30)),
    ///                partition: { Int($0.partition) })
    /// ```
    ///
    /// A partition counts from its first element on; with an idle timeout in `watermark`, a
    /// partition without data for that long stops holding the watermark back until it has data
    /// again.
    /// - Parameters:
    ///   - timestamp: The event time of an element.
    ///   - watermark: The bound, and when a partition (or the whole input) counts as idle.
    ///   - partition: The input partition an element came from.
    ///   - name: A stable name for the operator (default: `eventTime-N`).
    @inlinable
    public func eventTime(
        _ timestamp: @escaping @Sendable (Element) -> Timestamp,
        watermark: WatermarkStrategy,
        partition: @escaping @Sendable (Element) -> Int,
        name: String? = nil
    ) -> DataStream<Element> {
        makeEventTime(timestamp, watermark: watermark, name: name) { elements, clock in
            clock.assign(elements, timestamp, partition: partition, now: .now)
        }
    }

    @usableFromInline
    func makeEventTime(
        _ timestamp: @escaping @Sendable (Element) -> Timestamp,
        watermark: WatermarkStrategy,
        name: String?,
        kernel: @escaping EventTimeOperator<Element>.Kernel
    ) -> DataStream<Element> {
        for problem in watermark.problems() { pipeline.reportProblem(problem) }
        if watermark.idleTimeout != nil { pipeline.graph.withLock { $0.usesClock = true } }
        return then(
            kind: "eventTime",
            label: "eventTime (bound \(watermark.bound))",
            name: name,
            timeRule: .assigns,
            isStateful: true
        ) { context, outputs, clockUsers in
            let op = EventTimeOperator(
                kernel: kernel,
                strategy: watermark,
                downstream: Downstream(erased: outputs[PortIndex.main]),
                name: context.nodeName,
                instance: context.instance,
                metrics: OperatorMetrics(context)
            )
            try context.restore(op)
            if watermark.idleTimeout != nil { clockUsers.users.append(op) }
            return op as any BatchOperator<Element>
        }
    }

    /// Assigns event time from a key path; see ``eventTime(_:watermark:name:)``.
    public func eventTime(
        _ timestamp: any KeyPath<Element, Timestamp> & Sendable,
        watermark: WatermarkStrategy,
        name: String? = nil
    ) -> DataStream<Element> {
        eventTime({ $0[keyPath: timestamp] }, watermark: watermark, name: name)
    }

    /// Partitions the stream by key: every element with the same key goes to the same worker, so
    /// keyed state and windows see all of a key's elements.
    ///
    /// - Parameters:
    ///   - name: A stable name for the exchange (default: `keyBy-N`).
    ///   - key: The key of an element.
    @inlinable
    public func key<Key: Hashable & Sendable & Codable>(
        name: String? = nil,
        by key: @escaping @Sendable (Element) -> Key
    ) -> KeyedStream<Key, Element> {
        makeKeyBy(
            name: name,
            key: key,
            route: { batch, workers in Partitioner.routes(batch, workers: workers, by: key) },
            select: { batch, worker in Partitioner.select(batch, worker: worker) }
        )
    }

    @usableFromInline
    func makeKeyBy<Key: Hashable & Sendable & Codable>(
        name: String?,
        key: @escaping @Sendable (Element) -> Key,
        route: @escaping ExchangeSender<Element>.Route,
        select: @escaping RouteSelectOperator<Element>.Select
    ) -> KeyedStream<Key, Element> {
        let stream: DataStream<Element> = then(
            kind: "keyBy",
            name: name,
            role: .keyBy,
            makeExchange: { channels, producer in
                ExchangeSender<Element>(
                    channels: channels.map { $0 as! BoundedChannel<ChannelMessage<Element>> },
                    producer: producer,
                    route: route
                ) as any BatchOperator<Element>
            }
        ) { context, outputs, _ in
            RouteSelectOperator<Element>(
                worker: context.instance,
                select: select,
                downstream: Downstream(erased: outputs[PortIndex.main])
            ) as any BatchOperator<Element>
        }
        return KeyedStream(stream: stream, key: key)
    }

    /// Partitions the stream by a key path; see ``key(name:by:)-(_,(Element)->Key)``.
    public func key<Key: Hashable & Sendable & Codable>(
        name: String? = nil,
        by key: any KeyPath<Element, Key> & Sendable
    ) -> KeyedStream<Key, Element> {
        self.key(name: name, by: { $0[keyPath: key] })
    }

    /// Merges this stream with others of the same type; see
    /// ``Pipeline/merge(_:name:)-([DataStream<Element>],String?)``.
    public func merge(with others: DataStream<Element>..., name: String? = nil) -> DataStream<Element> {
        pipeline.merge([self] + others, name: name)
    }
}

// MARK: - Sinks

extension DataStream {
    /// Sends every element to a sink. A sink receives from all workers through one task.
    /// - Parameters:
    ///   - sink: Where the elements go.
    ///   - name: A stable name for the sink (default: `sink-N`).
    @inlinable
    public func sink<S: Sink>(_ sink: S, name: String? = nil) where S.Element == Element {
        // The call to `write` is formed here, in the caller's module, where the writer's type is
        // concrete: a generic sink's loop is then specialised for the element type rather than
        // run through generic witnesses for every element.
        addSink(sink, name: name) { writer, batch in try await writer.write(batch) }
    }

    /// Adds the sink node; `write` hands a batch to the writer.
    @usableFromInline
    func addSink<S: Sink>(
        _ sink: S,
        name: String?,
        write: @escaping @Sendable (S.Writer, Batch<Element>) async throws -> Void
    ) where S.Element == Element {
        let _: DataStream<Never> = then(
            kind: "sink",
            label: "sink \(String(describing: S.self).prefix(while: { $0 != "<" }))",
            name: name,
            role: .sink,
            outputTypes: [PortIndex.main: TypedPort<Never>()]
        ) { context, _, _ in
            let writer = try await sink.makeWriter(
                context: SinkContext(name: context.nodeName, checkpointing: context.checkpoints != nil)
            )
            if let snapshots = context.restored?.state[context.nodeName] {
                try await writer.restore(from: snapshots)
            }
            return SinkOperator(
                writer: writer,
                write: write,
                name: context.nodeName,
                instance: context.instance,
                metrics: OperatorMetrics(context)
            )
                as any BatchOperator<Element>
        }
    }

    /// Calls `body` for each element, on the sink's task.
    public func forEach(name: String? = nil, _ body: @escaping @Sendable (Element) async throws -> Void) {
        sink(ForEachSink(body), name: name)
    }

    /// Prints each element, for examples and debugging.
    public func print(_ prefix: String = "", name: String? = nil) {
        sink(PrintSink(prefix: prefix), name: name)
    }
}
