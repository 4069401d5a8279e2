/// The element type of an output port, kept as a value so that the graph compiler can create the
/// typed channels, senders and stage loops of a port whose type it only knows as a type parameter
/// of the node that declared it.
protocol PortType: Sendable {
    /// The element type's name, for diagrams and error messages.
    var typeName: String { get }
    /// A channel carrying this port's elements.
    func makeChannel(capacity: Int) -> AnyObject
    /// An operator that sends into `channel` as producer `producer`.
    func makeSender(channel: AnyObject, producer: Int) -> Any
    /// The loop of a stage that receives this type from `channel` and drives `entry`.
    func makeChannelStage(
        channel: AnyObject,
        entry: Any,
        producers: Int,
        clockUsers: [any ProcessingTimeAware],
        stopSignal: StopSignal,
        metrics: OperatorMetrics
    ) -> any StageRunner
    /// Closes a channel made by ``makeChannel(capacity:)``.
    func close(channel: AnyObject)
    /// Offers a clock tick to a channel made by ``makeChannel(capacity:)``.
    func tick(channel: AnyObject, now: Timestamp)
}

/// The ``PortType`` of elements of type `Element`.
struct TypedPort<Element: Sendable>: PortType {
    var typeName: String { String(describing: Element.self) }

    func makeChannel(capacity: Int) -> AnyObject {
        BoundedChannel<ChannelMessage<Element>>(capacity: capacity)
    }

    func makeSender(channel: AnyObject, producer: Int) -> Any {
        ChannelSender<Element>(channel: channel as! BoundedChannel<ChannelMessage<Element>>, producer: producer)
            as any BatchOperator<Element>
    }

    func makeChannelStage(
        channel: AnyObject,
        entry: Any,
        producers: Int,
        clockUsers: [any ProcessingTimeAware],
        stopSignal: StopSignal,
        metrics: OperatorMetrics
    ) -> any StageRunner {
        ChannelStage<Element>(
            channel: channel as! BoundedChannel<ChannelMessage<Element>>,
            entry: entry as! any BatchOperator<Element>,
            producers: producers,
            clockUsers: clockUsers,
            stopSignal: stopSignal,
            queueDepth: metrics.gauge(StreamKitMetrics.queueDepth)
        )
    }

    func close(channel: AnyObject) {
        (channel as! BoundedChannel<ChannelMessage<Element>>).close()
    }

    func tick(channel: AnyObject, now: Timestamp) {
        (channel as! BoundedChannel<ChannelMessage<Element>>).offer(.tick(now))
    }
}

/// The loop that one task of a running pipeline executes.
protocol StageRunner: AnyObject {
    /// Runs until the stage's input ends, or throws.
    func run() async throws
}

extension ChannelStage: StageRunner {}
