import CoreMetrics
import DequeModule

/// The loop of a stage fed by a channel: it receives the messages of all its producers, keeps one
/// watermark per producer, drives the stage's entry operator with the combined watermark, and
/// aligns checkpoint barriers.
///
/// Alignment: once a producer's barrier has arrived, that producer's later messages wait in a
/// queue until every other unfinished producer's barrier has arrived too; then the barrier goes to
/// the entry operator and the waiting messages are handled in order. The operators downstream
/// therefore snapshot exactly what came before the barrier on every input.
final class ChannelStage<Element: Sendable> {
    private let channel: BoundedChannel<ChannelMessage<Element>>
    private let entry: any BatchOperator<Element>
    private var tracker: WatermarkTracker
    private let clockUsers: [any ProcessingTimeAware]
    private var reportedIdle = false
    /// The barrier being aligned, and the producers whose barrier has arrived.
    private var aligning: (barrier: Barrier, arrived: Set<Int>)?
    /// Messages of producers whose barrier has arrived, waiting for the others.
    private var held: Deque<ChannelMessage<Element>> = []
    private var finished = false
    private let stopSignal: StopSignal
    /// The messages waiting in the channel, recorded as each one is taken.
    private let queueDepth: CoreMetrics.Gauge

    init(
        channel: BoundedChannel<ChannelMessage<Element>>,
        entry: any BatchOperator<Element>,
        producers: Int,
        clockUsers: [any ProcessingTimeAware],
        stopSignal: StopSignal,
        queueDepth: CoreMetrics.Gauge
    ) {
        self.stopSignal = stopSignal
        self.queueDepth = queueDepth
        self.channel = channel
        self.entry = entry
        self.tracker = WatermarkTracker(inputs: producers)
        self.clockUsers = clockUsers
    }

    /// Runs until every producer has finished, the channel is closed, or the task is cancelled.
    func run() async throws {
        while !finished, let message = await channel.receive() {
            try Task.checkCancellation()
            queueDepth.record(channel.count)
            try await handle(message)
        }
        // Closed without the end of input: a graceful stop, once everything buffered was handled.
        if !finished && stopSignal.isRequested && !Task.isCancelled {
            try await entry.stop()
        }
    }

    private func producer(of message: ChannelMessage<Element>) -> Int? {
        switch message {
        case .batch(let producer, _, _), .watermark(let producer, _), .idle(let producer),
            .end(let producer), .barrier(let producer, _):
            return producer
        case .tick:
            return nil
        }
    }

    private func handle(_ message: ChannelMessage<Element>) async throws {
        if let aligning, let producer = producer(of: message), aligning.arrived.contains(producer) {
            held.append(message)
            return
        }
        switch message {
        case .batch(let producer, var batch, let watermarkAfter):
            tracker.activate(producer)
            reportedIdle = false
            if tracker.inputs > 1 && batch.hasEventTime {
                // Elements of a batch mostly share their watermark (a window's partial aggregates
                // all do): combine each distinct one once.
                var (last, combined) = (Timestamp.min, tracker.combined(ifInput: producer, were: .min))
                for index in batch.watermarks.indices {
                    if batch.watermarks[index] != last {
                        last = batch.watermarks[index]
                        combined = tracker.combined(ifInput: producer, were: last)
                    }
                    batch.watermarks[index] = combined
                }
            }
            let before = tracker.current
            let now = watermarkAfter.map { tracker.update(producer, to: $0) } ?? before
            try await entry.process(batch, watermarkAfter: now > before ? now : nil)
        case .watermark(let producer, let watermark):
            let before = tracker.current
            let now = tracker.update(producer, to: watermark)
            reportedIdle = false
            if now > before { try await entry.advance(to: now) }
        case .idle(let producer):
            let before = tracker.current
            let now = tracker.markIdle(producer)
            if now > before { try await entry.advance(to: now) }
            if tracker.allIdle && !reportedIdle {
                reportedIdle = true
                try await entry.markIdle()
            }
        case .end(let producer):
            let before = tracker.current
            let now = tracker.finish(producer)
            if tracker.allFinished {
                finished = true
                try await entry.finish()
                return
            }
            if now > before { try await entry.advance(to: now) }
            try await completeAlignmentIfReady()
        case .tick(let now):
            for user in clockUsers { try await user.tick(now: now) }
        case .barrier(let producer, let barrier):
            if aligning == nil { aligning = (barrier, []) }
            aligning!.arrived.insert(producer)
            try await completeAlignmentIfReady()
        }
    }

    /// Passes the barrier on once every unfinished producer's barrier has arrived, then handles the
    /// messages that waited.
    private func completeAlignmentIfReady() async throws {
        guard let current = aligning else { return }
        let waiting = (0..<tracker.inputs).filter { !current.arrived.contains($0) && !tracker.isFinished($0) }
        guard waiting.isEmpty else { return }
        aligning = nil
        try await entry.barrier(current.barrier)
        let released = held
        held.removeAll()
        for message in released {
            try await handle(message)
        }
    }
}
