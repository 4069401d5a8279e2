import Foundation

/// The table of contents of a checkpoint, written last: a checkpoint without a valid manifest is
/// incomplete and is never restored.
///
/// On disk it is JSON followed by one line `crc32 <8 hex digits>`, the CRC-32 of every byte before
/// that line, so that a flipped bit anywhere in the manifest (a source offset, a file's checksum)
/// is detected rather than restored.
struct CheckpointManifest: Codable, Sendable {
    /// A file of the checkpoint with its size and checksum.
    struct File: Codable, Sendable {
        var size: Int
        var crc32: UInt32
    }

    /// The version of the manifest's layout: 2 since manifests carry a checksum and a fingerprint.
    static let currentFormat = 2

    /// The version of the manifest's layout; `nil` in manifests written before format 2.
    var format: Int?
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
    /// What the pipeline that wrote the checkpoint was: checked before its state is restored.
    var fingerprint: CheckpointFingerprint?

    /// The bytes of the manifest file: JSON and its checksum line.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var bytes = [UInt8](try encoder.encode(self))
        bytes.append(UInt8(ascii: "\n"))
        let checksum = String(CRC32.checksum(bytes), radix: 16)
        bytes += Array("crc32 \(String(repeating: "0", count: 8 - checksum.count))\(checksum)\n".utf8)
        return Data(bytes)
    }

    /// Why a manifest file cannot be used.
    enum Problem: Error {
        /// The file is damaged or truncated: the checkpoint is skipped.
        case corrupt(String)
        /// The file is intact but was written by a StreamKit before manifest format 2.
        case olderFormat
    }

    /// Reads a manifest file, checking its checksum.
    static func decode(_ data: Data) throws(Problem) -> CheckpointManifest {
        let bytes = [UInt8](data)
        let trailerLength = "crc32 00000000\n".utf8.count
        let decoder = JSONDecoder()
        guard bytes.count > trailerLength,
            let trailer = String(validating: bytes[(bytes.count - trailerLength)...], as: UTF8.self),
            trailer.hasPrefix("crc32 "), trailer.hasSuffix("\n"),
            let expected = UInt32(trailer.dropFirst(6).dropLast(), radix: 16),
            bytes[bytes.count - trailerLength - 1] == UInt8(ascii: "\n")
        else {
            // No checksum line: a manifest of an older StreamKit, if it reads as one.
            if let old = try? decoder.decode(CheckpointManifest.self, from: data), old.format == nil {
                throw Problem.olderFormat
            }
            throw Problem.corrupt("has a manifest without its checksum line: it is damaged or truncated")
        }
        let body = Array(bytes[..<(bytes.count - trailerLength)])
        guard CRC32.checksum(body) == expected else {
            throw Problem.corrupt("has a manifest whose checksum does not match its content: it is corrupt")
        }
        let manifest: CheckpointManifest
        do {
            manifest = try decoder.decode(CheckpointManifest.self, from: Data(body))
        } catch {
            throw Problem.corrupt("has an unreadable manifest (\(describe(error)))")
        }
        guard manifest.format == currentFormat, manifest.fingerprint != nil else {
            throw Problem.corrupt(
                "has a manifest of format \(manifest.format.map(String.init) ?? "none"), not \(currentFormat)"
            )
        }
        return manifest
    }
}

/// A checkpoint read back from disk, ready to hand its state to the operators of a new run.
struct RestoredCheckpoint: Sendable {
    /// The checkpoint's number.
    var id: Int64
    /// The directory it was read from.
    var directory: String
    /// The state snapshots of each operator, by operator name, one per instance of the run that
    /// wrote them.
    var state: [String: [[UInt8]]]
    /// The positions of the sources, by source name.
    var sources: [String: SourcePosition]
    /// What the pipeline that wrote it was.
    var fingerprint: CheckpointFingerprint
}
