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
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644)
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

    /// Creates a directory and the directories above it, unless it exists.
    /// - Parameter purpose: What the directory is for, named in the error ("checkpoint").
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` that names the directory,
    ///   the system's reason and what to change.
    static func createDirectory(_ path: String, purpose: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            let reason = systemReason(of: error)
            throw StreamKitError(
                code: .io,
                message: "cannot create the \(purpose) directory '\(path)' "
                    + "(\(reason ?? error.localizedDescription)): "
                    + "choose a writable directory, or fix its permissions or the file system it is on",
                // The system's reason says it all; Foundation's error would only repeat it.
                underlying: reason == nil ? error : nil
            )
        }
    }

    /// Checks that `path` is missing or a regular file, which ``write(_:to:)`` may replace.
    /// - Parameter owner: Who wants to replace it, for the message ("sink 'minute-table'").
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/invalidConfiguration`` naming
    ///   what the path is (a symbolic link, a device, a directory) and what to change.
    static func checkReplaceable(_ path: String, by owner: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        let kind: String
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: kind = "a symbolic link"
        case S_IFDIR: kind = "a directory"
        case S_IFCHR, S_IFBLK: kind = "a device"
        case S_IFIFO: kind = "a named pipe"
        default: kind = "not a regular file"
        }
        throw StreamKitError(
            code: .invalidConfiguration,
            message: "'\(path)' is \(kind); \(owner) writes a new file and renames it over its path, which would "
                + "replace it: give a path that does not exist yet or is a regular file"
        )
    }

    /// Checks that files can be created in `directory`, by creating and removing one.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` that names the directory,
    ///   the system's reason (such as "Read-only file system") and what to change.
    static func checkWritable(_ directory: String, purpose: String) throws {
        let probe = "\(directory)/.streamkit-write-test-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw StreamKitError(
                code: .io,
                message:
                    "cannot write in the \(purpose) directory '\(directory)' (\(String(cString: strerror(errno)))): "
                    + "choose a writable directory, or fix its permissions or the file system it is on"
            )
        }
        close(descriptor)
        unlink(probe)
    }

    /// The POSIX reason inside a Foundation file error, such as "Read-only file system".
    static func systemReason(of error: any Error) -> String? {
        var current = error as NSError
        while true {
            if current.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(current.code))) }
            guard let next = current.userInfo[NSUnderlyingErrorKey] as? any Error else { return nil }
            current = next as NSError
        }
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
