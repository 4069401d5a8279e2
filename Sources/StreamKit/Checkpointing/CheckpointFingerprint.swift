/// What a pipeline is, as far as its checkpoints are concerned: its name, the identity of each
/// source partition (a file's path, where the source can tell) and the configuration of each
/// stateful operator (a window's kind, size and allowed lateness, its key and aggregate types).
///
/// Every manifest records the fingerprint of the pipeline that wrote it; a run refuses to restore a
/// checkpoint whose fingerprint differs from its own, because the state and positions it holds
/// belong to another input or another computation and would be mixed with this one's.
struct CheckpointFingerprint: Codable, Sendable, Equatable {
    /// The pipeline's name.
    var pipeline: String
    /// The identity of each source partition that has one, by position key (`name`, `name#1`…).
    var sources: [String: String]
    /// The configuration of each stateful operator, by operator name.
    var operators: [String: String]

    /// What changed from `old` to this fingerprint, one sentence each; empty when nothing did.
    /// Sources and operators that exist on one side only are left to the checks of names and
    /// positions, which say what to do about them.
    func changes(from old: CheckpointFingerprint) -> [String] {
        var changes: [String] = []
        if old.pipeline != pipeline {
            changes.append("it was written by pipeline '\(old.pipeline)', this is pipeline '\(pipeline)'")
        }
        for name in sources.keys.sorted() {
            guard let before = old.sources[name], let now = sources[name], before != now else { continue }
            changes.append("source '\(name)' read \(before), it now reads \(now)")
        }
        for name in operators.keys.sorted() {
            guard let before = old.operators[name], let now = operators[name], before != now else { continue }
            changes.append("operator '\(name)' was \(before), it is now \(now)")
        }
        return changes
    }
}
