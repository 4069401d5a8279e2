/// The loop of a stage fed by a channel: it receives the messages of all its producers, keeps one
/// watermark per producer, and drives the stage's entry operator with the combined watermark.
final class ChannelStage<Element: Sendable> {
    private let channel: BoundedChannel<ChannelMessage<Element>>
    private let entry: any BatchOperator<Element>
    private var tracker: WatermarkTracker
    private let clockUsers: [any ProcessingTimeAware]
    private var reportedIdle = false

    init(
        channel: BoundedChannel<ChannelMessage<Element>>,
        entry: any BatchOperator<Element>,
        producers: Int,
        clockUsers: [any ProcessingTimeAware]
    ) {
        self.channel = channel
        self.entry = entry
        self.tracker = WatermarkTracker(inputs: producers)
        self.clockUsers = clockUsers
    }

    /// Runs until every producer has finished, the channel is closed, or the task is cancelled.
    func run() async throws {
        while let message = await channel.receive() {
            try Task.checkCancellation()
            switch message {
            case .batch(let producer, var batch, let watermarkAfter):
                tracker.activate(producer)
                reportedIdle = false
                if tracker.inputs > 1 && batch.hasEventTime {
                    for index in batch.watermarks.indices {
                        batch.watermarks[index] = tracker.combined(ifInput: producer, were: batch.watermarks[index])
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
                    try await entry.finish()
                    return
                }
                if now > before { try await entry.advance(to: now) }
            case .tick(let now):
                for user in clockUsers { try await user.tick(now: now) }
            }
        }
    }
}
