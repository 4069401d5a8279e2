/// Forwards everything unchanged: the entry of a merge or of a worker after an exchange.
final class PassThroughOperator<Element: Sendable>: BatchOperator {
    let downstream: Downstream<Element>

    init(downstream: Downstream<Element>) {
        self.downstream = downstream
    }

    func process(_ batch: Batch<Element>) async throws { try await downstream.process(batch) }
    func process(_ batch: Batch<Element>, watermarkAfter: Timestamp?) async throws {
        try await downstream.process(batch, watermarkAfter: watermarkAfter)
    }
    func advance(to watermark: Timestamp) async throws { try await downstream.advance(to: watermark) }
    func markIdle() async throws { try await downstream.markIdle() }
    func finish() async throws { try await downstream.finish() }
    func barrier(_ barrier: Barrier) async throws { try await downstream.barrier(barrier) }
    func stop() async throws { try await downstream.stop() }
}
