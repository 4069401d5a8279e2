/// A runtime operator: what a node of the graph becomes inside one task of a running pipeline.
///
/// Operators are push-based: the upstream operator calls ``process(_:)`` with a batch, then
/// ``advance(to:)`` when the watermark moves, ``markIdle()`` when its input went quiet, and
/// ``finish()`` once at the end of the input. One task owns an operator; it is never called
/// concurrently, so it keeps its state in plain stored properties.
protocol BatchOperator<Input>: AnyObject {
    /// The element type the operator consumes.
    associatedtype Input: Sendable

    /// Handles one batch.
    func process(_ batch: Batch<Input>) async throws
    /// Handles one batch, then moves the watermark to `watermarkAfter` if it is given: one call
    /// (and, between stages, one message) where there would be two.
    func process(_ batch: Batch<Input>, watermarkAfter: Timestamp?) async throws
    /// Moves the watermark of this operator's input forward.
    func advance(to watermark: Timestamp) async throws
    /// Says that the input has no data for now and must not hold the watermark back.
    func markIdle() async throws
    /// Ends the input: no call follows.
    func finish() async throws
    /// A checkpoint barrier: report state if any, then pass the barrier on to every output.
    func barrier(_ barrier: Barrier) async throws
    /// The pipeline stops without reaching the end of its input (a graceful stop): no final
    /// watermark, windows stay open in the last checkpoint; sinks commit what completed.
    func stop() async throws
}

extension BatchOperator {
    /// Nothing to do at a stop but to tell the operators downstream (see ``Downstream/stop()``);
    /// operators with outputs implement it.
    func stop() async throws {}

    /// Calls ``process(_:)`` and then ``advance(to:)``.
    func process(_ batch: Batch<Input>, watermarkAfter: Timestamp?) async throws {
        try await process(batch)
        if let watermarkAfter { try await advance(to: watermarkAfter) }
    }
}

/// An operator that wants the processing-time clock, for idle detection.
protocol ProcessingTimeAware: AnyObject {
    /// Called from time to time with the current processing time.
    func tick(now: Timestamp) async throws
}

/// The consumers of one output port: every operator a batch must be pushed to (fan-out).
struct Downstream<Element: Sendable> {
    /// The consumers, in the order the graph wired them.
    let consumers: [any BatchOperator<Element>]

    init(_ consumers: [any BatchOperator<Element>]) {
        self.consumers = consumers
    }

    /// Casts type-erased consumers built by the graph compiler.
    init(erased: [Any]) {
        self.consumers = erased.map { $0 as! any BatchOperator<Element> }
    }

    /// Whether nothing is connected to this port.
    var isEmpty: Bool { consumers.isEmpty }

    func process(_ batch: Batch<Element>) async throws {
        if batch.isEmpty { return }
        for consumer in consumers { try await consumer.process(batch) }
    }

    func process(_ batch: Batch<Element>, watermarkAfter: Timestamp?) async throws {
        if batch.isEmpty {
            if let watermarkAfter { try await advance(to: watermarkAfter) }
            return
        }
        for consumer in consumers { try await consumer.process(batch, watermarkAfter: watermarkAfter) }
    }

    func advance(to watermark: Timestamp) async throws {
        for consumer in consumers { try await consumer.advance(to: watermark) }
    }

    func markIdle() async throws {
        for consumer in consumers { try await consumer.markIdle() }
    }

    func finish() async throws {
        for consumer in consumers { try await consumer.finish() }
    }

    func barrier(_ barrier: Barrier) async throws {
        for consumer in consumers { try await consumer.barrier(barrier) }
    }

    func stop() async throws {
        for consumer in consumers { try await consumer.stop() }
    }
}
