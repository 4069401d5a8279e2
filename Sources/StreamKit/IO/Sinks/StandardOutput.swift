import Foundation

/// The process's standard output, as `print` and ``PrintSink`` write it.
public enum StandardOutput {
    /// Makes standard output write each line as it is printed, also when it is a pipe or a file
    /// (systemd, `docker logs`, `| tee`), where the C library otherwise waits until 4 KiB have
    /// gathered or the process exits. Call it once, first thing in `main`.
    public static func writeLineByLine() {
        // The C library's `stdout` is a global variable that Swift 6 refuses to read from concurrent
        // code; its address is looked up instead (glibc exports it under that name).
        guard let symbol = dlsym(nil, "stdout"),
            let file = symbol.assumingMemoryBound(to: UnsafeMutablePointer<FILE>?.self).pointee
        else { return }
        setvbuf(file, nil, _IOLBF, 0)
    }
}
