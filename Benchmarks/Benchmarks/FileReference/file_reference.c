#include "file_reference.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The canonical workload's constants (Benchmarks/CoreBenchmarks/Workload.swift).
#define SENSOR_COUNT 1000
#define START_MICROS (1700000000LL * 1000000LL)
#define SPACING 1000LL
#define DISORDER 5000000LL
#define LATE_SHIFT 120000000LL
#define LATE_ONE_IN 1000
#define BOUND 5000000LL
#define WINDOW 60000000LL

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t next(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ULL;
    return mix(*state);
}

uint64_t fr_window_fingerprint(int64_t sensor, int64_t window_start, int64_t count, double mean) {
    uint64_t value = (uint64_t)sensor * 0x9E3779B97F4A7C15ULL;
    value ^= (uint64_t)window_start * 0xC2B2AE3D27D4EB4FULL;
    value ^= (uint64_t)count * 0x165667B19E3779F9ULL;
    uint64_t bits;
    memcpy(&bits, &mean, sizeof bits);
    return mix(value ^ bits);
}

/// Writes `10 + k/1024` exactly and without trailing zeros: 1/1024 is 0.0009765625.
static int format_value(char *out, int64_t k) {
    int64_t whole = 10 + k / 1024;
    int64_t fraction = (k % 1024) * 9765625LL;  // ten digits
    if (fraction == 0) return sprintf(out, "%lld", (long long)whole);
    char digits[11];
    sprintf(digits, "%010lld", (long long)fraction);
    int length = 10;
    while (digits[length - 1] == '0') length--;
    digits[length] = 0;
    return sprintf(out, "%lld.%s", (long long)whole, digits);
}

int fr_generate(const char *csv_path, const char *jsonl_path, const char *bad_csv_path, int64_t count, uint64_t seed) {
    FILE *csv = fopen(csv_path, "w"), *jsonl = fopen(jsonl_path, "w"), *bad = fopen(bad_csv_path, "w");
    if (!csv || !jsonl || !bad) return -1;
    fputs("sensor,time,value\n", csv);
    fputs("sensor,time,value\n", bad);
    uint64_t state = seed;
    char value[32];
    for (int64_t index = 0; index < count; index++) {
        int64_t sensor = (int64_t)(next(&state) % SENSOR_COUNT);
        int64_t time = START_MICROS + index * SPACING - (int64_t)(next(&state) % (uint64_t)DISORDER);
        if (next(&state) % LATE_ONE_IN == 0) time -= LATE_SHIFT;
        format_value(value, (int64_t)(next(&state) % (20 * 1024)));
        fprintf(csv, "%lld,%lld,%s\n", (long long)sensor, (long long)time, value);
        fprintf(jsonl, "{\"sensor\":%lld,\"time\":%lld,\"value\":%s}\n", (long long)sensor, (long long)time, value);
        fprintf(bad, "%lld,%lld,%s\n", (long long)sensor, (long long)time, index % 10 == 9 ? "n/a" : value);
    }
    int failed = ferror(csv) || ferror(jsonl) || ferror(bad);
    failed |= fclose(csv) != 0;
    failed |= fclose(jsonl) != 0;
    failed |= fclose(bad) != 0;
    return failed ? -1 : 0;
}

// One sensor's open window: an open-addressing table from (sensor, start) to count and sum.
typedef struct {
    int64_t sensor;
    int64_t start;
    int64_t count;
    double sum;
    int used;
} entry;

typedef struct {
    entry *slots;
    int64_t capacity;  // a power of two
    int64_t size;
} table;

static uint64_t hash(int64_t sensor, int64_t start) {
    return mix((uint64_t)sensor * 0x9E3779B97F4A7C15ULL ^ (uint64_t)start);
}

static void insert(table *t, int64_t sensor, int64_t start, int64_t count, double sum);

static void grow(table *t) {
    entry *old = t->slots;
    int64_t old_capacity = t->capacity;
    t->capacity *= 2;
    t->slots = calloc((size_t)t->capacity, sizeof(entry));
    t->size = 0;
    for (int64_t i = 0; i < old_capacity; i++)
        if (old[i].used) insert(t, old[i].sensor, old[i].start, old[i].count, old[i].sum);
    free(old);
}

static void insert(table *t, int64_t sensor, int64_t start, int64_t count, double sum) {
    if ((t->size + 1) * 2 > t->capacity) grow(t);
    uint64_t mask = (uint64_t)t->capacity - 1;
    for (uint64_t i = hash(sensor, start) & mask;; i = (i + 1) & mask) {
        entry *e = &t->slots[i];
        if (!e->used) {
            *e = (entry){sensor, start, count, sum, 1};
            t->size++;
            return;
        }
        if (e->sensor == sensor && e->start == start) {
            e->count += count;
            e->sum += sum;
            return;
        }
    }
}

/// Emits the windows that end at or before `watermark` and keeps the others; returns the earliest
/// end of those kept.
static int64_t fire(table *t, int64_t watermark, fr_tally *tally) {
    int64_t earliest = INT64_MAX;
    table kept = {calloc((size_t)t->capacity, sizeof(entry)), t->capacity, 0};
    for (int64_t i = 0; i < t->capacity; i++) {
        entry *e = &t->slots[i];
        if (!e->used) continue;
        if (e->start + WINDOW <= watermark) {
            tally->windows++;
            tally->fingerprint += fr_window_fingerprint(e->sensor, e->start, e->count, e->sum / (double)e->count);
            tally->on_time += e->count;
        } else {
            insert(&kept, e->sensor, e->start, e->count, e->sum);
            if (e->start + WINDOW < earliest) earliest = e->start + WINDOW;
        }
    }
    free(t->slots);
    *t = kept;
    return earliest;
}

fr_tally fr_csv_windows(const char *path) {
    fr_tally tally = {0, 0, 0, 0, 0};
    FILE *file = fopen(path, "r");
    if (!file) {
        tally.windows = -1;
        return tally;
    }
    table open = {calloc(4096, sizeof(entry)), 4096, 0};
    int64_t highest = INT64_MIN, earliest_end = INT64_MAX;
    char line[1024];
    if (!fgets(line, sizeof line, file)) goto done;  // the header
    while (fgets(line, sizeof line, file)) {
        char *end;
        long sensor = strtol(line, &end, 10);
        if (end == line || *end != ',') {
            tally.rejected++;
            continue;
        }
        char *field = end + 1;
        long long time = strtoll(field, &end, 10);
        if (end == field || *end != ',') {
            tally.rejected++;
            continue;
        }
        field = end + 1;
        double value = strtod(field, &end);
        if (end == field || (*end != '\n' && *end != 0)) {
            tally.rejected++;
            continue;
        }
        int64_t watermark = highest == INT64_MIN ? INT64_MIN : highest - BOUND;
        if (watermark >= earliest_end) earliest_end = fire(&open, watermark, &tally);
        int64_t start = time / WINDOW * WINDOW;
        if (time % WINDOW != 0 && time < 0) start -= WINDOW;
        if (start + WINDOW <= watermark) {
            tally.late++;
        } else {
            insert(&open, sensor, start, 1, value);
            if (start + WINDOW < earliest_end) earliest_end = start + WINDOW;
        }
        if (time > highest) highest = time;
    }
    fire(&open, INT64_MAX, &tally);
done:
    free(open.slots);
    fclose(file);
    return tally;
}
