import CoreMetrics
import Foundation
import Logging
import Synchronization

/// Writes checkpoints to a directory, finds the newest complete one, and keeps the last few.
///
/// Layout: `<directory>/chk-<id>/` holds one file per stateful operator instance
/// (`<operator>-<instance>.state`) and, written last, `MANIFEST.json` with every file's size and
/// CRC-32, every source's position, the pipeline's ``CheckpointFingerprint`` and a checksum of
/// the manifest itself. Each file is written durably (temporary name, fsync, rename,
/// fsync of the directory). A checkpoint is complete when its manifest is there and every file
/// matches it; anything else is reported in the log and skipped.
///
/// Participants (sources, stateful operators, sinks) report to the store when the barrier of a
/// checkpoint passes them; when all have reported, the store writes the manifest.
final class CheckpointStore: Sendable {
    struct Pending {
        var files: [String: CheckpointManifest.File] = [:]
        var operators: [String: [String]] = [:]
        var sources: [String: SourcePosition] = [:]
        var waiting: Set<String>
        var started: ContinuousClock.Instant
    }

    struct State {
        /// The newest checkpoint requested from the sources.
        var requested: Int64
        /// The newest complete checkpoint.
        var completed: Int64
        var pending: [Int64: Pending] = [:]
        /// The checkpoint of a graceful stop, once requested.
        var final: Int64?
        /// Every participant still running, as `operator#instance`.
        var participants: Set<String>
        /// The last positions of sources whose input ended, recorded in every later checkpoint.
        var ended: [String: SourcePosition] = [:]

        /// Starts checkpoint `requested`, waiting for every participant still running.
        mutating func startRequested() {
            pending[requested] = Pending(sources: ended, waiting: participants, started: .now)
        }
    }

    let configuration: CheckpointConfiguration
    let pipelineName: String
    let fingerprint: CheckpointFingerprint
    let logger: Logger
    private let state: Mutex<State>

    init(
        configuration: CheckpointConfiguration,
        pipelineName: String,
        fingerprint: CheckpointFingerprint,
        participants: Set<String>,
        lastCompleted: Int64,
        logger: Logger
    ) {
        self.configuration = configuration
        self.pipelineName = pipelineName
        self.fingerprint = fingerprint
        self.logger = logger
        self.state = Mutex(State(requested: lastCompleted, completed: lastCompleted, participants: participants))
    }

    /// The name under which an operator instance reports.
    static func participant(_ name: String, instance: Int) -> String { "\(name)#\(instance)" }

    /// The key of a source's position in a manifest: the source's name for its first (often only)
    /// partition, `name#instance` for the others.
    static func positionKey(_ name: String, instance: Int) -> String {
        instance == 0 ? name : participant(name, instance: instance)
    }

    /// The newest checkpoint the sources should inject a barrier for.
    var requested: Int64 { state.withLock { $0.requested } }

    /// The newest complete checkpoint.
    var completed: Int64 { state.withLock { $0.completed } }

    /// Asks the sources for a new checkpoint, unless one is still in flight.
    /// - Returns: The new checkpoint's number, or `nil` if one is in flight.
    @discardableResult
    func trigger() -> Int64? {
        state.withLock { state in
            guard state.final == nil, state.pending.isEmpty, state.requested == state.completed,
                state.requested < Self.largestID
            else { return nil }
            state.requested += 1
            state.startRequested()
            return state.requested
        }
    }

    /// The checkpoint of a graceful stop: a new one once none is in flight, `nil` while one is.
    /// Every source calls it until it gets a number, injecting the barriers of checkpoints
    /// requested meanwhile (a checkpoint in flight may wait for this very source); they all get
    /// the same number.
    func triggerFinal() -> Int64? {
        state.withLock { state in
            if let final = state.final { return final }
            guard state.pending.isEmpty, state.requested == state.completed, state.requested < Self.largestID else {
                return nil
            }
            state.requested += 1
            state.startRequested()
            state.final = state.requested
            return state.requested
        }
    }

    /// The input of a source copy ended and everything it read has been handed on: it and the
    /// operators of its stage (`participants`) take part in no further checkpoint, and every later
    /// checkpoint records `position` as the source's, so that a restart does not read the input
    /// again. Checkpoints that were waiting only for them complete now.
    /// - Throws: When a manifest cannot be written.
    func retire(_ participants: Set<String>, source name: String, instance: Int, position: SourcePosition?) throws {
        let completed: [(Int64, Pending)] = state.withLock { state in
            state.participants.subtract(participants)
            let key = Self.positionKey(name, instance: instance)
            if let position { state.ended[key] = position }
            var completed: [(Int64, Pending)] = []
            for id in state.pending.keys.sorted() {
                var pending = state.pending[id]!
                pending.waiting.subtract(participants)
                if let position { pending.sources[key] = position }
                if pending.waiting.isEmpty {
                    state.pending[id] = nil
                    completed.append((id, pending))
                } else {
                    state.pending[id] = pending
                }
            }
            return completed
        }
        for (id, pending) in completed { try finish(id, pending) }
    }

    /// Records what a participant contributes to checkpoint `id`: its state, its position.
    /// Writes the manifest when it was the last participant.
    /// - Throws: When a state file cannot be written.
    func report(
        _ id: Int64,
        operator name: String,
        instance: Int,
        state snapshot: [UInt8]? = nil,
        position: SourcePosition? = nil
    ) throws {
        do {
            try record(id, operator: name, instance: instance, state: snapshot, position: position)
        } catch {
            CoreMetrics.Counter(label: StreamKitMetrics.checkpointFailures, dimensions: [("pipeline", pipelineName)])
                .increment()
            throw error
        }
    }

    private func record(
        _ id: Int64,
        operator name: String,
        instance: Int,
        state snapshot: [UInt8]?,
        position: SourcePosition?
    ) throws {
        var file: (name: String, entry: CheckpointManifest.File)?
        if let snapshot {
            let fileName = "\(Self.safe(name))-\(instance).state"
            try DurableFile.createDirectory(directory(of: id), purpose: "checkpoint")
            try DurableFile.write(Data(snapshot), to: "\(directory(of: id))/\(fileName)")
            file = (fileName, .init(size: snapshot.count, crc32: CRC32.checksum(snapshot)))
        }
        let complete: Pending? = state.withLock { state in
            guard var pending = state.pending[id] else { return nil }
            if let file {
                pending.files[file.name] = file.entry
                pending.operators[name, default: []].append(file.name)
            }
            if let position { pending.sources[Self.positionKey(name, instance: instance)] = position }
            pending.waiting.remove(Self.participant(name, instance: instance))
            if pending.waiting.isEmpty {
                state.pending[id] = nil
                return pending
            }
            state.pending[id] = pending
            return nil
        }
        if let complete { try finish(id, complete) }
    }

    private func finish(_ id: Int64, _ pending: Pending) throws {
        var operators = pending.operators
        for key in operators.keys { operators[key]!.sort() }
        let manifest = CheckpointManifest(
            format: CheckpointManifest.currentFormat,
            id: id,
            pipeline: pipelineName,
            created: .now,
            files: pending.files,
            operators: operators,
            sources: pending.sources,
            fingerprint: fingerprint
        )
        try DurableFile.createDirectory(directory(of: id), purpose: "checkpoint")
        try DurableFile.write(try manifest.encoded(), to: "\(directory(of: id))/MANIFEST.json")
        state.withLock { $0.completed = Swift.max($0.completed, id) }
        let duration = ContinuousClock.now - pending.started
        let dimensions = [("pipeline", pipelineName)]
        CoreMetrics.Counter(label: StreamKitMetrics.checkpoints, dimensions: dimensions).increment()
        CoreMetrics.Timer(label: StreamKitMetrics.checkpointDuration, dimensions: dimensions)
            .recordNanoseconds(
                duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            )
        CoreMetrics.Gauge(label: StreamKitMetrics.checkpointSize, dimensions: dimensions)
            .record(pending.files.values.reduce(0) { $0 + $1.size })
        CoreMetrics.Gauge(label: StreamKitMetrics.lastCheckpoint, dimensions: dimensions)
            .record(Double(Timestamp.now.microseconds) / 1e6)
        logger.debug(
            "checkpoint complete",
            metadata: ["pipeline": "\(pipelineName)", "checkpoint": "\(id)", "duration": "\(duration)"]
        )
        removeOld()
    }

    /// Deletes complete checkpoints beyond the newest `retain`, and incomplete ones older than the
    /// newest complete one.
    private func removeOld() {
        let ids = Self.checkpointIDs(in: configuration.directory)
        let completed = self.completed
        var kept = 0
        for id in ids.sorted(by: >) where id <= completed {
            let valid = FileManager.default.fileExists(atPath: "\(directory(of: id))/MANIFEST.json")
            if valid && kept < configuration.retain {
                kept += 1
                continue
            }
            try? FileManager.default.removeItem(atPath: directory(of: id))
        }
    }

    func directory(of id: Int64) -> String {
        Self.directory(of: id, in: configuration.directory)
    }

    static func directory(of id: Int64, in root: String) -> String {
        let digits = String(id)
        return "\(root)/chk-" + String(repeating: "0", count: Swift.max(0, 10 - digits.count)) + digits
    }

    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    /// The largest checkpoint number the store uses or reads: far below `Int64.max`, so that
    /// counting on from any folder in the directory cannot overflow.
    static let largestID: Int64 = 999_999_999_999_999

    /// The numbers of the checkpoint folders in `root`. Names that are not `chk-` and 10 to 15
    /// digits as the store writes them, such as a stray `chk-9223372036854775807`, are not
    /// checkpoints of StreamKit: they are logged and ignored.
    static func checkpointIDs(in root: String, logger: Logger? = nil) -> [Int64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("chk-"), !name.hasSuffix(".tmp") else { return nil }
            let digits = name.dropFirst(4)
            guard digits.count <= 15, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int64(digits),
                id > 0, Self.directory(of: id, in: root) == "\(root)/\(name)"
            else {
                logger?.warning(
                    "ignoring '\(name)' in the checkpoint directory: not a checkpoint StreamKit wrote (chk- and 10 to 15 digits)",
                    metadata: ["directory": "\(root)"]
                )
                return nil
            }
            return id
        }
    }

    /// Reads the newest complete checkpoint in `root`; logs each newer one that is incomplete or
    /// corrupt, with the reason, and falls back to the previous one.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/checkpoint`` when the newest
    ///   intact checkpoint was written by a StreamKit older than manifest format 2, which recorded
    ///   no fingerprint: it cannot be checked against the pipeline, so it is not restored.
    static func latest(in root: String, logger: Logger) throws -> RestoredCheckpoint? {
        for id in checkpointIDs(in: root, logger: logger).sorted(by: >) {
            let directory = directory(of: id, in: root)
            do {
                return try read(directory: directory, id: id)
            } catch CheckpointManifest.Problem.olderFormat {
                throw StreamKitError(
                    code: .checkpoint,
                    message: "checkpoint \(id) in '\(directory)' was written by an older StreamKit, whose checkpoints "
                        + "record neither a checksum of their manifest nor which pipeline, inputs and window settings "
                        + "they belong to, so it cannot be checked before it is restored: finish that run with the "
                        + "older StreamKit, or start fresh (remove '\(root)' or set CheckpointConfiguration.fresh)"
                )
            } catch {
                logger.warning(
                    "skipping checkpoint: \(error)",
                    metadata: ["checkpoint": "\(id)", "directory": "\(directory)"]
                )
            }
        }
        return nil
    }

    private static func read(directory: String, id: Int64) throws -> RestoredCheckpoint {
        func corrupt(_ reason: String) -> StreamKitError {
            StreamKitError(code: .checkpoint, message: "checkpoint \(id) in '\(directory)' \(reason)")
        }
        guard let manifestData = FileManager.default.contents(atPath: "\(directory)/MANIFEST.json") else {
            throw corrupt("has no manifest: it did not complete")
        }
        let manifest: CheckpointManifest
        do {
            manifest = try CheckpointManifest.decode(manifestData)
        } catch {
            switch error {
            case .olderFormat: throw CheckpointManifest.Problem.olderFormat
            case .corrupt(let reason): throw corrupt(reason)
            }
        }
        guard manifest.id == id else {
            throw corrupt("has a manifest of checkpoint \(manifest.id): it was moved or copied from elsewhere")
        }
        var files: [String: [UInt8]] = [:]
        for (name, entry) in manifest.files {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else {
                throw corrupt("misses its file '\(name)'")
            }
            guard data.count == entry.size else {
                throw corrupt("has '\(name)' of \(data.count) bytes where the manifest says \(entry.size): truncated")
            }
            let bytes = [UInt8](data)
            guard CRC32.checksum(bytes) == entry.crc32 else {
                throw corrupt("has '\(name)' whose checksum does not match the manifest: corrupt")
            }
            files[name] = bytes
        }
        var state: [String: [[UInt8]]] = [:]
        for (operatorName, names) in manifest.operators {
            state[operatorName] = names.compactMap { files[$0] }
        }
        return RestoredCheckpoint(
            id: manifest.id,
            directory: directory,
            state: state,
            sources: manifest.sources,
            fingerprint: manifest.fingerprint!
        )
    }
}
