/// The base of the stateless operators: watermarks, idleness and the end of input pass through.
class StatelessOperator<Input: Sendable, Output: Sendable>: BatchOperator {
    let downstream: Downstream<Output>

    init(downstream: Downstream<Output>) {
        self.downstream = downstream
    }

    func process(_ batch: Batch<Input>) async throws {
        preconditionFailure("subclasses override process(_:)")
    }

    func process(_ batch: Batch<Input>, watermarkAfter: Timestamp?) async throws {
        try await process(batch)
        if let watermarkAfter { try await advance(to: watermarkAfter) }
    }

    func advance(to watermark: Timestamp) async throws { try await downstream.advance(to: watermark) }
    func markIdle() async throws { try await downstream.markIdle() }
    func finish() async throws { try await downstream.finish() }
    func barrier(_ barrier: Barrier) async throws { try await downstream.barrier(barrier) }
    func stop() async throws { try await downstream.stop() }
}

/// Turns each batch into another with a closure: map, filter, compactMap and flatMap, whose loops the
/// `@inlinable` builder methods of ``DataStream`` specialize in the caller's module.
final class BatchTransformOperator<Input: Sendable, Output: Sendable>: StatelessOperator<Input, Output> {
    let transform: @Sendable (Batch<Input>) -> Batch<Output>

    init(transform: @escaping @Sendable (Batch<Input>) -> Batch<Output>, downstream: Downstream<Output>) {
        self.transform = transform
        super.init(downstream: downstream)
    }

    override func process(_ batch: Batch<Input>) async throws {
        try await downstream.process(transform(batch))
    }

    override func process(_ batch: Batch<Input>, watermarkAfter: Timestamp?) async throws {
        try await downstream.process(transform(batch), watermarkAfter: watermarkAfter)
    }
}

/// Applies a throwing function; an element whose function throws goes to the error output with
/// the error as the reason and the element's description as the raw input.
final class TryMapOperator<Input: Sendable, Output: Sendable>: StatelessOperator<Input, Output> {
    let transform: @Sendable (Input) throws -> Output
    let errors: ErrorOutput
    let raw: @Sendable (Input) -> (bytes: [UInt8], location: String?, line: Int?, time: Timestamp?)

    init(
        transform: @escaping @Sendable (Input) throws -> Output,
        raw: @escaping @Sendable (Input) -> (bytes: [UInt8], location: String?, line: Int?, time: Timestamp?),
        downstream: Downstream<Output>,
        errors: ErrorOutput
    ) {
        self.transform = transform
        self.raw = raw
        self.errors = errors
        super.init(downstream: downstream)
    }

    override func process(_ batch: Batch<Input>) async throws {
        var output = Batch<Output>(reservingCapacity: batch.count, withTime: batch.hasEventTime)
        var rejected: [ErrorRecord] = []
        for index in batch.elements.indices {
            do {
                output.append(try transform(batch.elements[index]), timeOf: index, in: batch)
            } catch {
                let input = raw(batch.elements[index])
                rejected.append(
                    ErrorRecord(
                        origin: errors.origin,
                        reason: "\(error)",
                        raw: input.bytes,
                        location: input.location,
                        line: input.line,
                        time: input.time ?? .now
                    )
                )
            }
        }
        try await downstream.process(output)
        if !rejected.isEmpty { try await errors.emit(rejected) }
    }

    override func finish() async throws {
        try await downstream.finish()
        try await errors.finish()
    }

    override func barrier(_ barrier: Barrier) async throws {
        try await downstream.barrier(barrier)
        try await errors.barrier(barrier)
    }

    override func stop() async throws {
        try await downstream.stop()
        try await errors.downstream.stop()
    }
}
