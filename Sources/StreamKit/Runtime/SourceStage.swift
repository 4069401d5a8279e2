import CoreMetrics
import Logging

/// The loop of a stage that starts at a source: it pulls batches from the reader and pushes them
/// through the stage's operators, until the input ends.
@usableFromInline
final class SourceStage<Reader: SourceReader>: StageRunner {
    /// Reads from the reader; formed in the caller's module by ``Pipeline/source(_:name:)`` so that
    /// the call is direct and specialized.
    @usableFromInline typealias Read = @Sendable (inout Reader, Int) async throws -> SourceRead<Reader.Element>

    private var reader: Reader
    private let read: Read
    private let downstream: Downstream<Reader.Element>
    private let errors: ErrorOutput
    private let batchSize: Int
    private let clockUsers: [any ProcessingTimeAware]
    private let name: String
    /// Which partition of the source this stage reads, from 0.
    private let instance: Int
    private let checkpoints: CheckpointStore?
    /// The checkpoint participants of this copy of the stage, retired when the input ends.
    private let retiring: Set<String>
    private var lastBarrier: Int64
    /// The positions recorded in checkpoints that have not completed yet, by checkpoint.
    private var recordedPositions: [Int64: SourcePosition?] = [:]
    private let stopSignal: StopSignal
    private let recordsIn: CoreMetrics.Counter

    init(
        reader: Reader,
        read: @escaping Read,
        downstream: Downstream<Reader.Element>,
        errors: ErrorOutput,
        batchSize: Int,
        clockUsers: [any ProcessingTimeAware],
        name: String,
        instance: Int,
        checkpoints: CheckpointStore?,
        retiring: Set<String>,
        stopSignal: StopSignal
    ) {
        self.retiring = retiring
        self.instance = instance
        self.stopSignal = stopSignal
        self.reader = reader
        self.read = read
        self.downstream = downstream
        self.errors = errors
        self.batchSize = batchSize
        self.clockUsers = clockUsers
        self.name = name
        self.checkpoints = checkpoints
        self.lastBarrier = checkpoints?.requested ?? 0
        self.recordsIn = OperatorMetrics(pipeline: errors.context.pipelineName, operator: name)
            .counter(StreamKitMetrics.recordsIn)
    }

    /// Stops reading: takes a final checkpoint that includes everything read so far, waits until it
    /// completes, and lets the operators downstream commit; no final watermark is sent, so the
    /// open windows wait in the checkpoint for the next run.
    private func stopGracefully() async throws {
        stopSignal.sourceStoppedEarly()
        if await reader.stopReceiving() {
            // What the source already took from its broker is processed before the final
            // checkpoint, which then records the position after it.
            while true {
                try Task.checkCancellation()
                try await injectBarrierIfRequested()
                if try await readOnce() { break }
            }
        }
        if let checkpoints {
            // A checkpoint requested before the stop, or while waiting for the stop's, needs this
            // source's barrier to complete; then the stop's own is the one requested.
            try await injectBarrierIfRequested()
            var final = checkpoints.triggerFinal()
            while final == nil {
                try Task.checkCancellation()
                try await Task.sleep(for: .milliseconds(5))
                try await injectBarrierIfRequested()
                final = checkpoints.triggerFinal()
            }
            let id = final!
            try await injectBarrierIfRequested()
            while checkpoints.completed < id {
                try Task.checkCancellation()
                try await Task.sleep(for: .milliseconds(5))
            }
            try await reportCompletedCheckpoints()
        }
        try await downstream.stop()
    }

    /// Injects a barrier when a checkpoint was requested since the last one: records the reader's
    /// position, then sends the barrier behind everything read so far.
    private func injectBarrierIfRequested() async throws {
        guard let checkpoints else { return }
        let requested = checkpoints.requested
        guard requested > lastBarrier else { return }
        lastBarrier = requested
        recordedPositions[requested] = reader.position
        try checkpoints.report(requested, operator: name, instance: instance, position: reader.position)
        let barrier = Barrier(id: requested, store: checkpoints)
        try await downstream.barrier(barrier)
        try await errors.barrier(barrier)
    }

    /// Tells the reader about the checkpoints that completed since the last call, newest only: a
    /// position in a newer checkpoint supersedes the older ones.
    private func reportCompletedCheckpoints() async throws {
        guard let checkpoints, !recordedPositions.isEmpty else { return }
        let completed = checkpoints.completed
        let done = recordedPositions.keys.filter { $0 <= completed }
        guard let newest = done.max() else { return }
        let position = recordedPositions[newest]!
        for id in done { recordedPositions[id] = nil }
        try await reader.checkpointCompleted(newest, position: position)
    }

    func run() async throws {
        do {
            try await readUntilEndOrStop()
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
    }

    private func readUntilEndOrStop() async throws {
        while true {
            try Task.checkCancellation()
            if stopSignal.isRequested { return try await stopGracefully() }
            try await injectBarrierIfRequested()
            try await reportCompletedCheckpoints()
            if try await readOnce() {
                // A checkpoint requested before the end gets this source's barrier; later ones
                // record where the input ended and wait for nothing of this stage.
                try await injectBarrierIfRequested()
                try await downstream.finish()
                try await errors.finish()
                try checkpoints?.retire(retiring, source: name, instance: instance, position: reader.position)
                return
            }
        }
    }

    /// Reads once and sends what came downstream (or the clock's time to its users); returns
    /// whether the reader said its input ended.
    private func readOnce() async throws -> Bool {
        switch try await read(&reader, batchSize) {
        case .chunk(let chunk):
            recordsIn.increment(by: Int64(chunk.elements.count + chunk.errors.count))
            if !chunk.errors.isEmpty { try await errors.emit(chunk.errors) }
            try await downstream.process(Batch(elements: chunk.elements))
        case .tick(let now):
            for user in clockUsers { try await user.tick(now: now) }
        case .end:
            return true
        }
        return false
    }
}

/// An error side output: rejected records go to its consumers, and are counted and logged when
/// nothing consumes them, so that they never vanish silently.
struct ErrorOutput {
    let downstream: Downstream<ErrorRecord>
    let origin: String
    let context: BuildContext
    private let counter = Count()
    private let errorsCounter: CoreMetrics.Counter

    final class Count {
        var count = 0
    }

    init(_ consumers: [Any], origin: String, context: BuildContext) {
        self.downstream = Downstream(erased: consumers)
        self.origin = origin
        self.context = context
        self.errorsCounter = OperatorMetrics(pipeline: context.pipelineName, operator: origin)
            .counter(StreamKitMetrics.errors)
    }

    /// How many records this output has received.
    var count: Int { counter.count }

    func emit(_ records: [ErrorRecord]) async throws {
        let before = counter.count
        counter.count += records.count
        errorsCounter.increment(by: Int64(records.count))
        if downstream.isEmpty {
            // The first ten, then every thousandth, counted record by record: a batch of bad records
            // logs at most a few lines.
            for (index, record) in records.enumerated() where before + index < 10 || (before + index + 1) % 1000 == 0 {
                context.configuration.logger.warning(
                    "rejected record (no error sink is attached: add one with .errors.sink(...))",
                    metadata: ["pipeline": "\(context.pipelineName)", "operator": "\(origin)", "record": "\(record)"]
                )
            }
            return
        }
        try await downstream.process(Batch(elements: records))
    }

    func finish() async throws {
        try await downstream.finish()
    }

    func barrier(_ barrier: Barrier) async throws {
        try await downstream.barrier(barrier)
    }
}
