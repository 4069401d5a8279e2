// The C references of the file benchmarks: the canonical workload written as CSV and JSON Lines,
// and the plain C loop that the StreamKit file pipelines are measured against.
#ifndef FILE_REFERENCE_H
#define FILE_REFERENCE_H

#include <stdint.h>

/// What a windowing run produced: its window results as a count and the wrapping sum of their
/// fingerprints (see fr_window_fingerprint), and how many rows were on time, late and rejected.
typedef struct {
    int64_t windows;
    uint64_t fingerprint;
    int64_t on_time;
    int64_t late;
    int64_t rejected;
} fr_tally;

/// Writes the canonical workload (`count` readings from `seed`, as the core benchmarks generate
/// them) to `csv_path` (`sensor,time,value`, time in microseconds since 1970), to `jsonl_path`
/// (`{"sensor":..,"time":..,"value":..}`) and to `bad_csv_path`, the CSV with the value of every
/// tenth row replaced by `n/a`. Returns 0, or -1 with errno set.
int fr_generate(const char *csv_path, const char *jsonl_path, const char *bad_csv_path, int64_t count, uint64_t seed);

/// The naive C loop: reads `path` with fgets, parses each row with strtol, strtoll and strtod
/// (rejecting a row whose fields do not parse to their end), and counts and averages the readings
/// per sensor in one-minute tumbling windows with a watermark 5 s behind the highest time seen.
/// Returns the tally; `windows` is -1 when the file cannot be read.
fr_tally fr_csv_windows(const char *path);

/// The fingerprint of one window result, bit for bit the core benchmarks' `Tally.windowFingerprint`.
uint64_t fr_window_fingerprint(int64_t sensor, int64_t window_start, int64_t count, double mean);

#endif
