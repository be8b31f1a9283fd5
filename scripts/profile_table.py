#!/usr/bin/env python3
"""Prints a device profile's measurements as Markdown tables, one per family: rows are
problems (with thread count), columns are variants, cells are the median rate (GFLOP/s,
or GB/s / busbw for all-reduce). Failed results show their outcome. Side-by-side figures
come from one run, so ratios between columns are meaningful.

Usage: scripts/profile_table.py PROFILE.json [--family gemm] [--threads 1]
"""
import argparse
import json
import sys
from collections import OrderedDict


def rate(m):
    if m.get("outcome") != "passed":
        return m.get("outcome", "?")
    if "busbw_gbps" in m:
        return "%.2f" % m["busbw_gbps"]
    if "gflops" in m:
        return "%.1f" % m["gflops"]
    if "gbps" in m:
        return "%.1f" % m["gbps"]
    return "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--family")
    ap.add_argument("--threads", type=int)
    a = ap.parse_args()
    try:
        with open(a.profile) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("profile_table: %s: %s" % (a.profile, e))
    tables = OrderedDict()
    for m in doc.get("measurements", []):
        name = m["name"]
        family = name.split("/")[0]
        if a.family and family != a.family:
            continue
        if a.threads and m.get("threads") != a.threads:
            continue
        bench = m.get("benchmark", name)
        problem = bench[len(name):].strip("/")
        problem = problem.rsplit("/threads:", 1)[0] if "/threads:" in problem else problem
        row = "%s t=%d" % (problem or "-", m.get("threads", 1))
        col = name.split("/", 2)[2] if name.count("/") >= 2 else name
        tables.setdefault(family, OrderedDict()).setdefault(row, {})[col] = rate(m)
    for family, rows in tables.items():
        cols = []
        for cells in rows.values():
            for c in cells:
                if c not in cols:
                    cols.append(c)
        unit = "busbw GB/s" if family == "allreduce" else "GFLOP/s or GB/s"
        print("\n### %s (%s)\n" % (family, unit))
        print("| problem | " + " | ".join(cols) + " |")
        print("|---|" + "---|" * len(cols))
        for row, cells in rows.items():
            print("| %s | %s |" % (row, " | ".join(cells.get(c, "") for c in cols)))


if __name__ == "__main__":
    main()
