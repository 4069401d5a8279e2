extension KeyedStream {
    /// Lets through only the first element of each key with a given identity: later copies within
    /// `within` of event time are dropped and counted (`streamkit_duplicates_total`).
    ///
    /// Use it where a source can deliver the same record twice: a sensor that repeats a reading, an
    /// MQTT broker that redelivers after a reconnection, a replay after a crash. The identity is
    /// what makes two elements the same record, such as a reading's time for a key that is the
    /// sensor:
    ///
    /// ```swift
    /// readings
    ///     .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.seconds(5)))
    ///     .key(by: { $0.sensor })
    ///     .deduplicate(by: { $0.time }, within: .minutes(2))
    ///     .window(.tumbling(.minutes(1)))
    /// ```
    ///
    /// A pair (key, identity) is remembered until the watermark passes the element's time plus
    /// `within`; the remembered pairs are checkpointed, so a restarted pipeline still recognises
    /// the copies of what it saw before the crash. Make `within` at least the watermark's bound
    /// plus the allowed lateness of the windows behind it: a copy that arrives later than that is
    /// late for those windows anyway.
    /// - Parameters:
    ///   - identity: What makes two elements of one key the same record.
    ///   - within: How long, in event time, an identity is remembered.
    ///   - name: A stable name for the operator (default: `deduplicate-N`); its state is stored
    ///     under this name in checkpoints.
    /// - Returns: The stream without the copies, partitioned by the same key.
    public func deduplicate<ID: Hashable & Sendable & Codable>(
        by identity: @escaping @Sendable (Element) -> ID,
        within: Duration,
        name: String? = nil
    ) -> KeyedStream<Key, Element> {
        if within <= .zero {
            stream.pipeline.reportProblem("deduplicate within \(within): use a positive duration")
        }
        let key = self.key
        let deduplicated: DataStream<Element> = stream.then(
            kind: "deduplicate",
            label: "deduplicate within \(within)",
            name: name,
            role: .keyed,
            timeRule: .requires,
            isStateful: true
        ) { context, outputs, _ in
            let operation = DeduplicateOperator<Key, Element, ID>(
                key: key,
                identity: identity,
                within: within,
                downstream: Downstream(erased: outputs[PortIndex.main]),
                context: context
            )
            try context.restore(operation)
            return operation as any BatchOperator<Element>
        }
        return KeyedStream(stream: deduplicated, key: key)
    }
}
