#!/usr/bin/env python3
"""The pandas reference of `electricity-flows batch`: the same daily, weekly (ISO) and monthly
totals of the Swiss cross-border flows in Europe/Zurich local time (imports, exports, net import,
hours present, per flow column), written as CSV files into OUTPUT_DIR.

Usage: electricity-totals.py FLOWS_CSV OUTPUT_DIR

The benchmark times this whole process against the whole `electricity-flows batch` process on the
same file (Benchmarks/Benchmarks/ElectricityBenchmarks/ProcessBenchmarks.swift).
"""
import os
import sys

import pandas as pd


def main() -> None:
    source, output = sys.argv[1], sys.argv[2]
    os.makedirs(output, exist_ok=True)
    frame = pd.read_csv(source)
    # Offsets such as +0100 / +0200: parse to UTC, then to Swiss local time for the calendar.
    frame["time"] = pd.to_datetime(frame["Datetime"], utc=True, format="%Y-%m-%dT%H:%M:%S%z").dt.tz_convert(
        "Europe/Zurich"
    )
    # A correction repeats an hour later in the file: the last row of an hour counts.
    frame = frame.drop_duplicates(subset="time", keep="last")
    flows = [column for column in frame.columns if column.endswith("_MWh")]
    imports = [column for column in flows if column.endswith("_CH_MWh")]
    exports = [column for column in flows if column.startswith("CH_")]
    frame["imports"] = frame[imports].sum(axis=1)
    frame["exports"] = frame[exports].sum(axis=1)
    frame["net_import"] = frame["imports"] - frame["exports"]
    local = frame["time"].dt
    iso = local.isocalendar()
    periods = {
        "days": local.strftime("%Y-%m-%d"),
        "weeks": iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2),
        "months": local.strftime("%Y-%m"),
    }
    columns = flows + ["imports", "exports", "net_import"]
    for name, period in periods.items():
        totals = frame.groupby(period)[columns].sum()
        totals["hours"] = frame.groupby(period).size()
        totals.index.name = "period"
        totals.to_csv(f"{output}/{name}.csv")


if __name__ == "__main__":
    main()
