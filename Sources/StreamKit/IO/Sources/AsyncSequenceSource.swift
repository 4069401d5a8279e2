import DequeModule
import Synchronization

/// A source that reads an `AsyncSequence`: records fed one by one, as a live input would.
///
/// The sequence is iterated on a task of its own that feeds a bounded buffer, so a slow pipeline
/// slows the producer down instead of buffering without limit. While the sequence produces nothing
/// the reader returns clock ticks, which lets an idle input stop holding the watermark back.
public struct AsyncSequenceSource<Base: AsyncSequence & Sendable>: Source
where Base.Element: Sendable {
    /// The element type the source produces.
    public typealias Element = Base.Element

    /// The sequence to read.
    public let base: Base
    /// How many elements the buffer between the sequence and the pipeline holds.
    public let bufferCapacity: Int

    /// Creates a source over `base`.
    /// - Parameters:
    ///   - base: The sequence.
    ///   - bufferCapacity: How many elements may wait between the sequence and the pipeline.
    public init(_ base: Base, bufferCapacity: Int = 4096) {
        self.base = base
        self.bufferCapacity = Swift.max(1, bufferCapacity)
    }

    /// Starts the task that iterates the sequence, and the clock that produces ticks.
    public func makeReader(context: SourceContext) async throws -> Reader {
        let channel = BoundedChannel<Message>(capacity: bufferCapacity)
        let base = self.base
        let pump = Task {
            do {
                for try await element in base {
                    await channel.send(.element(element))
                }
                await channel.send(.end)
            } catch {
                await channel.send(.failure(String(describing: error)))
            }
        }
        let interval = context.tickInterval
        let clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                channel.offer(.tick(.now))
            }
        }
        return Reader(channel: channel, tasks: TaskBox(tasks: [pump, clock]), name: context.name)
    }

    enum Message: Sendable {
        case element(Element)
        case tick(Timestamp)
        case end
        case failure(String)
    }

    /// Cancels the feeding tasks when the reader goes away.
    final class TaskBox: Sendable {
        let tasks: [Task<Void, Never>]
        init(tasks: [Task<Void, Never>]) { self.tasks = tasks }
        deinit { for task in tasks { task.cancel() } }
    }

    /// Takes what the feeding task has buffered.
    public struct Reader: SourceReader {
        let channel: BoundedChannel<Message>
        let tasks: TaskBox
        let name: String
        var ended = false

        /// Waits for at least one element or a tick, then takes up to `maximumCount` elements.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            if ended { return .end }
            var elements: [Element] = []
            while elements.count < maximumCount {
                // Wait only for the first message; then take what is already there.
                if !elements.isEmpty && channel.count == 0 { break }
                let channel = self.channel
                let next = await withTaskCancellationHandler {
                    await channel.receive()
                } onCancel: {
                    channel.close()
                }
                try Task.checkCancellation()
                guard let message = next else {
                    ended = true
                    break
                }
                switch message {
                case .element(let element):
                    elements.append(element)
                case .tick(let now):
                    if elements.isEmpty { return .tick(now) }
                case .end:
                    ended = true
                    return elements.isEmpty ? .end : .chunk(SourceChunk(elements: elements))
                case .failure(let reason):
                    throw StreamKitError(
                        code: .sourceFailed,
                        message: "the async sequence of source '\(name)' failed: \(reason)"
                    )
                }
            }
            return elements.isEmpty ? .end : .chunk(SourceChunk(elements: elements))
        }
    }
}
