import StreamKit

/// Where and how an ``MQTTSource`` keeps its journal: the write-ahead log that makes every message
/// the broker considers delivered survive a crash of the pipeline's process.
///
/// libmosquitto acknowledges a QoS 1 or 2 message to the broker as soon as its callback returns,
/// long before the pipeline has processed the message and taken a checkpoint. With a journal the
/// callback first writes the message to a file under ``directory``; the source reads its messages
/// with their position in the journal, records that position in checkpoints, and a restarted
/// pipeline replays the journal from the checkpointed position before it takes new messages. So:
///
/// - a crash of the process (kill -9, an abort) loses no acknowledged message: the write reached
///   the operating system before the acknowledgement left;
/// - a crash of the machine (power loss) can lose the messages received since the journal's last
///   sync, at most ``syncInterval`` old. ``syncInterval`` `.zero` syncs every message before its
///   acknowledgement, at the cost of a disk sync per message.
///
/// The journal keeps segments of ``segmentSize`` bytes and deletes a segment once a checkpoint that
/// is not the newest has passed it (the newest may be unreadable, and the one before it then needs
/// the segment). Give each source a directory of its own, and remove it together with the
/// checkpoints when you start a pipeline afresh: a journal without checkpoints is replayed from its
/// oldest message.
public struct MQTTJournalConfiguration: Sendable, Hashable {
    /// The folder of the journal's segment files (created when missing).
    public var directory: String
    /// The size in bytes at which a segment is closed and a new one begun.
    public var segmentSize: Int64 = 64 << 20
    /// How often the journal is synced to the disk; `.zero` syncs every message before the broker's
    /// acknowledgement.
    public var syncInterval: Duration = .seconds(1)

    /// A journal in `directory`, with segments of 64 MiB synced once a second.
    public init(directory: String) {
        self.directory = directory
    }

    func validate(source: String) throws {
        var problems: [String] = []
        if directory.isEmpty { problems.append("its directory is empty: give a folder for the journal") }
        if segmentSize < 4096 { problems.append("segmentSize is \(segmentSize) bytes: use 4096 or more") }
        if syncInterval < .zero { problems.append("syncInterval is \(syncInterval): use .zero or more") }
        guard problems.isEmpty else {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "the journal of MQTT source '\(source)': " + problems.joined(separator: "; ")
            )
        }
    }
}
