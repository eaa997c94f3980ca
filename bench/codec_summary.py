#!/usr/bin/env python3
"""Summarise `cargo bench -p amp-wire --bench codec` as boxes/s and MB/s.

Usage: python3 bench/codec_summary.py [TARGET_DIR]   (default: target)

Reads Criterion's target/criterion/{decode,encode,typed}/*/new/*.json. Each
benchmark id ends in the wire size of one box ("sum_request/45B") and its
throughput is in boxes per iteration, so bytes/s = boxes/s x size. Prints a
Markdown table (median, with the 95% confidence interval of the mean as the
spread).
"""

import json
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target") / "criterion"
rows = []
for group in ("decode", "encode", "typed"):
    for bench in sorted((root / group).glob("*/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        boxes = meta["throughput"]["Elements"]
        size = int(re.search(r"/(\d+)B$", meta["function_id"]).group(1))
        ns = est["median"]["point_estimate"]
        lo = est["mean"]["confidence_interval"]["lower_bound"]
        hi = est["mean"]["confidence_interval"]["upper_bound"]
        rate = boxes / ns * 1e9
        rows.append((meta["full_id"], ns / boxes, rate, rate * size / 1e6, (hi - lo) / ns * 50))

print("| benchmark | ns/box | boxes/s | MB/s | ±% (95% CI) |")
print("|---|---:|---:|---:|---:|")
for name, per, rate, mbs, spread in rows:
    print(f"| `{name}` | {per:,.1f} | {rate:,.0f} | {mbs:,.0f} | {spread:.1f} |")
