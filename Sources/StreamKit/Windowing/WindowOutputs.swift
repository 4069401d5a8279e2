import CoreMetrics

/// The two outputs of a window operator — results and late elements — and what every window
/// operator does with them at a flush, a barrier, a stop and the end of input.
struct WindowOutputs<Key: Sendable, Input: Sendable, Value: Sendable> {
    let results: Downstream<WindowResult<Key, Value>>
    let late: Downstream<Input>
    /// Counts the late elements, for monitoring.
    let lateRecords: CoreMetrics.Counter

    /// Sends results and late elements that were waiting in the operator's buffers (which the
    /// operator empties before the call, since the sends suspend).
    func send(_ pending: Batch<WindowResult<Key, Value>>, _ pendingLate: Batch<Input>) async throws {
        try await results.process(pending)
        if !pendingLate.isEmpty { lateRecords.increment(by: Int64(pendingLate.count)) }
        try await late.process(pendingLate)
    }

    /// Reports the operator's state for a checkpoint and passes the barrier on to both outputs.
    func barrier(_ barrier: Barrier, operator name: String, instance: Int, state: [UInt8]) async throws {
        try barrier.store.report(barrier.id, operator: name, instance: instance, state: state)
        try await results.barrier(barrier)
        try await late.barrier(barrier)
    }

    /// Passes a graceful stop on to both outputs.
    func stop() async throws {
        try await results.stop()
        try await late.stop()
    }

    /// Ends both outputs.
    func finish() async throws {
        try await results.finish()
        try await late.finish()
    }
}
