import Logging

/// A reference to one output port of a node: `port` 0 is the main output, the others are side
/// outputs (see ``PortIndex``).
struct PortRef: Hashable, Sendable {
    var node: Int
    var port: Int
}

/// The ports every node may have.
enum PortIndex {
    /// The main output.
    static let main = 0
    /// Records the node rejected, as ``ErrorRecord``s.
    static let errors = 1
    /// Elements that arrived too late for their window.
    static let late = 2
}

/// What a node is, for stage planning and diagrams.
enum NodeRole: Sendable, Equatable {
    case source
    case transform
    case keyBy
    case keyed
    case merge
    case sink
}

/// How a node relates to event time, for validation at build time.
enum TimeRule: Sendable {
    /// Carries the event time of its input, if any.
    case inherits
    /// Assigns event time and watermarks.
    case assigns
    /// Needs event time on its input (windows, keyed process functions); outputs event time.
    case requires
}

/// What the graph compiler knows about the task that instantiates a node.
struct BuildContext: Sendable {
    /// The pipeline's name.
    var pipelineName: String
    /// The node's name.
    var nodeName: String
    /// Which copy of its stage this instance is, from 0.
    var instance: Int
    /// How many copies its stage has.
    var instances: Int
    /// The pipeline's settings.
    var configuration: PipelineConfiguration
    /// Where checkpoints go, when the pipeline takes them.
    var checkpoints: CheckpointStore?
    /// The checkpoint the run resumes from.
    var restored: RestoredCheckpoint?
    /// Set when the pipeline is asked to stop gracefully.
    var stopSignal: StopSignal
    /// The checkpoint participants of this copy of the node's stage, as `operator#instance`: what
    /// a source retires when its input ends.
    var stageParticipants: Set<String> = []

    /// Restores a snapshotting operator from the checkpoint, if the run resumes from one.
    func restore(_ target: some Snapshotting) throws {
        guard let snapshots = restored?.state[nodeName] else { return }
        try target.restore(from: snapshots, instance: instance, instances: instances)
    }
}

/// Collects the operators of one stage that want the processing-time clock.
final class ClockUsers {
    var users: [any ProcessingTimeAware] = []
}

/// Creates the runtime form of a node inside the task that runs it. `outputs[port]` lists the
/// consumers of each port, as `any BatchOperator<T>` for the port's type. A source returns an
/// ``StageRunner``; any other node returns `any BatchOperator<Input>`.
typealias NodeFactory = @Sendable (BuildContext, [[Any]], ClockUsers) async throws -> Any

/// One node of the graph as the builder records it.
struct GraphNode: Sendable {
    var id: Int
    /// The stable, unique name of the node: checkpoints and metrics refer to it.
    var name: String
    /// A short description for diagrams: "map", "window tumbling 60 s".
    var label: String
    var role: NodeRole
    var inputs: [PortRef]
    /// The element type the node consumes; `nil` for sources.
    var inputType: (any PortType)?
    /// The element type of each output port.
    var outputTypes: [Int: any PortType]
    var timeRule: TimeRule
    /// Whether the node keeps state (windows, process functions).
    var isStateful: Bool
    /// `nil` until the node is complete (a window waiting for its aggregate).
    var factory: NodeFactory?
    /// For a key-by node: makes the exchange that routes elements to the workers' channels.
    var makeExchange: (@Sendable ([AnyObject], Int) -> Any)?
    /// For a source: how many partitions it reads in parallel, one copy of its stage each.
    var partitions = 1
    /// For a window that can aggregate in two phases (see ``AggregationPhases``).
    var split: WindowSplit?
    /// For a source: the ``Source/identity`` of each partition, asked when the pipeline starts.
    var sourceIdentities: [@Sendable () -> String?] = []
    /// For a stateful operator: its configuration (window kind and size, lateness, key and
    /// aggregate types), recorded in checkpoints and compared when one is restored.
    var fingerprint: String?
}

/// How a window runs in two steps (see ``LocalWindowOperator``): the types and factories the graph
/// compiler needs when it places the local step in each partition's task and the global step on
/// the workers.
struct WindowSplit: Sendable {
    /// The type that crosses the exchange: ``PartialAggregate``.
    var partialType: any PortType
    /// Makes the exchange that routes partial aggregates to the workers' channels.
    var makeExchange: @Sendable ([AnyObject], Int) -> Any
    /// Makes the local step, sending into the given operator (an exchange or a channel sender); the
    /// local step joins the stage's clock users.
    var makeLocal: @Sendable (BuildContext, Any, ClockUsers) async throws -> Any
    /// The partitions whose checkpointed local state (the snapshots of the local steps, under the
    /// given operator name) holds at least one key.
    var partitionsHoldingKeys: @Sendable ([[UInt8]], String) throws -> [Int]
    /// Makes the global step: an operator that receives partial aggregates.
    var makeGlobal: NodeFactory

    /// The name under which the local steps of window `name` keep their state in checkpoints.
    static func localName(_ name: String) -> String { name + localSuffix }
    /// What ``localName(_:)`` appends to the window's name.
    static let localSuffix = ".local"
}

/// The mutable graph behind a ``Pipeline`` while it is being built.
struct PipelineGraph: Sendable {
    var nodes: [GraphNode] = []
    /// Configuration mistakes found while building, reported by ``Pipeline/run()``.
    var problems: [String] = []
    var usedNames: Set<String> = []
    /// Whether some operator wants clock ticks (an event-time operator with an idle timeout).
    var usesClock = false
    var counters: [String: Int] = [:]

    /// A unique name: the user's, or the kind followed by a number.
    mutating func uniqueName(_ requested: String?, kind: String) -> String {
        if let requested {
            if requested.contains("#") || requested.hasSuffix(WindowSplit.localSuffix) {
                problems.append(
                    "the name '\(requested)' contains '#' or ends in '.local', which checkpoints use for partitions and "
                        + "two-phase windows: choose another name"
                )
            }
            if usedNames.contains(requested) {
                problems.append(
                    "two operators are named '\(requested)': names identify state in checkpoints, give each a different name"
                )
            }
            usedNames.insert(requested)
            return requested
        }
        var name: String
        repeat {
            counters[kind, default: 0] += 1
            name = "\(kind)-\(counters[kind]!)"
        } while usedNames.contains(name)
        usedNames.insert(name)
        return name
    }

    /// The consumers of every port, as (consumer node, input index).
    func consumers() -> [PortRef: [(node: Int, input: Int)]] {
        var result: [PortRef: [(node: Int, input: Int)]] = [:]
        for node in nodes {
            for (index, input) in node.inputs.enumerated() {
                result[input, default: []].append((node.id, index))
            }
        }
        return result
    }
}
