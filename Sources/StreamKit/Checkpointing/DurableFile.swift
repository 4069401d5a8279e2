import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files so that a crash leaves either the old content or the new, never a mix: write to a
/// temporary name, fsync, rename over the final name, fsync the directory.
enum DurableFile {
    /// Writes `data` to `path` durably.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` naming the file.
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw failure("create", temporary) }
        var written = 0
        let ok = data.withUnsafeBytes { bytes -> Bool in
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count <= 0 { return false }
                written += count
            }
            return fsync(descriptor) == 0
        }
        close(descriptor)
        guard ok else { throw failure("write", temporary) }
        guard rename(temporary, path) == 0 else { throw failure("rename", path) }
        try syncDirectory(of: path)
    }

    /// Flushes a directory entry change (a rename, a new file) to disk.
    static func syncDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        guard descriptor >= 0 else { throw failure("open the directory of", path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("sync the directory of", path) }
    }

    private static func failure(_ action: String, _ path: String) -> StreamKitError {
        StreamKitError(
            code: .io,
            message: "cannot \(action) '\(path)': \(String(cString: strerror(errno))); check the disk and permissions"
        )
    }
}
