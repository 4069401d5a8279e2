#!/usr/bin/env python3
"""What inserting IoT readings into SQLite costs at the least, whatever the pipeline around it.

Inserts 300,000 readings (1,000 sensors x 300 rounds, in arrival order: one reading of every sensor
per round) into the IoT example's `readings` table (the same schema, WAL, a 64 MiB page cache),
in transactions of a given number of rows, with Python's sqlite3 `executemany` (one prepared
statement, no per-row work in Python beyond the binding), and prints microseconds per row.
Variants show where the cost is: the table keyed by time instead of by sensor, with and without a
second index.

    python3 Benchmarks/scripts/sqlite-insert-floor.py 5000 20000 50000
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

SCHEMAS = {
    # The IoT example's BIStore: keyed by (sensor, dt), with an index on dt.
    "iot-example": """
        CREATE TABLE readings (sensor TEXT NOT NULL, dt TEXT NOT NULL, value REAL NOT NULL,
            received_at TEXT NOT NULL, PRIMARY KEY (sensor, dt)) WITHOUT ROWID;
        CREATE INDEX readings_by_time ON readings (dt);""",
    "no-time-index": """
        CREATE TABLE readings (sensor TEXT NOT NULL, dt TEXT NOT NULL, value REAL NOT NULL,
            received_at TEXT NOT NULL, PRIMARY KEY (sensor, dt)) WITHOUT ROWID;""",
    # Keyed by time: rows arrive in about that order, so inserts append.
    "time-key-only": """
        CREATE TABLE readings (sensor TEXT NOT NULL, dt TEXT NOT NULL, value REAL NOT NULL,
            received_at TEXT NOT NULL, PRIMARY KEY (dt, sensor)) WITHOUT ROWID;""",
}


def rows():
    rng = random.Random(1)
    out = []
    for r in range(300):
        for s in range(1000):
            dt = "2024-01-01T00:%02d:%02d.%06dZ" % (r // 60, r % 60, rng.randrange(10**6))
            out.append(("Sensor %d" % (s + 1), dt, float(rng.randrange(100)), "2026-11-30T06:00:00.000000Z"))
    return out


def run(schema, data, per_transaction):
    with tempfile.TemporaryDirectory() as directory:
        db = sqlite3.connect(os.path.join(directory, "bi.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA cache_size=-65536")
        db.executescript(schema)
        started = time.perf_counter()
        for first in range(0, len(data), per_transaction):
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)", data[first:first + per_transaction])
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
        return elapsed / len(data) * 1e6


if __name__ == "__main__":
    sizes = [int(argument) for argument in sys.argv[1:]] or [5000, 20000, 50000]
    data = rows()
    for name, schema in SCHEMAS.items():
        figures = ", ".join("%d rows: %.1f us" % (size, run(schema, data, size)) for size in sizes)
        print("%-14s %s per row" % (name, figures))
