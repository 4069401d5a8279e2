/// The base of the stateless operators: watermarks, idleness and the end of input pass through.
class StatelessOperator<Input: Sendable, Output: Sendable>: BatchOperator {
    let downstream: Downstream<Output>

    init(downstream: Downstream<Output>) {
        self.downstream = downstream
    }

    func process(_ batch: Batch<Input>) async throws {
        preconditionFailure("subclasses override process(_:)")
    }

    func advance(to watermark: Timestamp) async throws { try await downstream.advance(to: watermark) }
    func markIdle() async throws { try await downstream.markIdle() }
    func finish() async throws { try await downstream.finish() }
}

/// Applies a function to each element; event times and watermarks are shared with the input
/// batch, not copied.
final class MapOperator<Input: Sendable, Output: Sendable>: StatelessOperator<Input, Output> {
    let transform: @Sendable (Input) -> Output

    init(transform: @escaping @Sendable (Input) -> Output, downstream: Downstream<Output>) {
        self.transform = transform
        super.init(downstream: downstream)
    }

    override func process(_ batch: Batch<Input>) async throws {
        let elements = batch.elements.map(transform)
        try await downstream.process(
            Batch(elements: elements, timestamps: batch.timestamps, watermarks: batch.watermarks)
        )
    }
}

/// Keeps the elements for which a predicate holds.
final class FilterOperator<Element: Sendable>: StatelessOperator<Element, Element> {
    let isIncluded: @Sendable (Element) -> Bool

    init(isIncluded: @escaping @Sendable (Element) -> Bool, downstream: Downstream<Element>) {
        self.isIncluded = isIncluded
        super.init(downstream: downstream)
    }

    override func process(_ batch: Batch<Element>) async throws {
        var output = Batch<Element>(reservingCapacity: batch.count, withTime: batch.hasEventTime)
        for index in batch.elements.indices where isIncluded(batch.elements[index]) {
            output.append(batch.elements[index], timeOf: index, in: batch)
        }
        try await downstream.process(output)
    }
}

/// Applies a function that may return `nil`, and keeps the non-`nil` results.
final class CompactMapOperator<Input: Sendable, Output: Sendable>: StatelessOperator<Input, Output> {
    let transform: @Sendable (Input) -> Output?

    init(transform: @escaping @Sendable (Input) -> Output?, downstream: Downstream<Output>) {
        self.transform = transform
        super.init(downstream: downstream)
    }

    override func process(_ batch: Batch<Input>) async throws {
        var output = Batch<Output>(reservingCapacity: batch.count, withTime: batch.hasEventTime)
        for index in batch.elements.indices {
            if let result = transform(batch.elements[index]) {
                output.append(result, timeOf: index, in: batch)
            }
        }
        try await downstream.process(output)
    }
}

/// Applies a function that returns a sequence, and emits its elements with the event time of the
/// element they came from.
final class FlatMapOperator<Input: Sendable, Results: Sequence & Sendable>: StatelessOperator<Input, Results.Element>
where Results.Element: Sendable {
    let transform: @Sendable (Input) -> Results

    init(transform: @escaping @Sendable (Input) -> Results, downstream: Downstream<Results.Element>) {
        self.transform = transform
        super.init(downstream: downstream)
    }

    override func process(_ batch: Batch<Input>) async throws {
        var output = Batch<Results.Element>(reservingCapacity: batch.count, withTime: batch.hasEventTime)
        for index in batch.elements.indices {
            for result in transform(batch.elements[index]) {
                output.append(result, timeOf: index, in: batch)
            }
        }
        try await downstream.process(output)
    }
}

/// Applies a throwing function; an element whose function throws goes to the error output with
/// the error as the reason and the element's description as the raw input.
final class TryMapOperator<Input: Sendable, Output: Sendable>: StatelessOperator<Input, Output> {
    let transform: @Sendable (Input) throws -> Output
    let errors: ErrorOutput
    let raw: @Sendable (Input) -> [UInt8]

    init(
        transform: @escaping @Sendable (Input) throws -> Output,
        raw: @escaping @Sendable (Input) -> [UInt8],
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
                rejected.append(
                    ErrorRecord(origin: errors.origin, reason: "\(error)", raw: raw(batch.elements[index]))
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
}
