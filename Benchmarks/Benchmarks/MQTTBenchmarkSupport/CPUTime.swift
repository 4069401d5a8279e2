import Glibc

/// CPU time (user and system) of this process, from `getrusage`.
///
/// Every thread of the process counts: the pipeline's workers, libmosquitto's network thread, the
/// clock tasks, and the benchmark runner's own thread (which only polls while a benchmark runs).
public enum CPUTime {
    /// The CPU time this process has used so far.
    public static var ofProcess: Duration {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return duration(of: usage)
    }

    /// The user and system time of `usage`.
    public static func duration(of usage: rusage) -> Duration {
        func microseconds(_ time: timeval) -> Int64 { Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_usec) }
        return .microseconds(microseconds(usage.ru_utime) + microseconds(usage.ru_stime))
    }
}
