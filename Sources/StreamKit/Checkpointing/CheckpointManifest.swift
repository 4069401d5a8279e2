/// The table of contents of a checkpoint, written last: a checkpoint without a valid manifest is
/// incomplete and is never restored.
struct CheckpointManifest: Codable, Sendable {
    /// A file of the checkpoint with its size and checksum.
    struct File: Codable, Sendable {
        var size: Int
        var crc32: UInt32
    }

    /// The checkpoint's number; later checkpoints have larger numbers.
    var id: Int64
    /// The pipeline's name.
    var pipeline: String
    /// When the checkpoint completed.
    var created: Timestamp
    /// The state files, by name, with their sizes and checksums.
    var files: [String: File]
    /// The state files of each stateful operator and sink, by operator name: one per instance.
    var operators: [String: [String]]
    /// Where each source was when its barrier left it, by source name.
    var sources: [String: SourcePosition]
}

/// A checkpoint read back from disk, ready to hand its state to the operators of a new run.
struct RestoredCheckpoint: Sendable {
    /// The checkpoint's number.
    var id: Int64
    /// The state snapshots of each operator, by operator name, one per instance of the run that
    /// wrote them.
    var state: [String: [[UInt8]]]
    /// The positions of the sources, by source name.
    var sources: [String: SourcePosition]
}
