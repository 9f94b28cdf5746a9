"""How often header detection is right, undecided or confidently wrong, by what the
frame headers carry.

    python benchmarks/detect_sweep.py                  # 2000 recordings, about 15 s
    python benchmarks/detect_sweep.py --seeds 4000 --show-wrong 20

Each recording is one of ``tests/header_generator.py``: a scan of few or many rows and
columns (1, 2, 3 or 4-39 each) walked as a scan generator walks it (the reader's
windings and three it cannot express), junk frames parked at (0, 0), at the scan's first
or at its last position before and after, Scan_x/Scan_y written both, x only, as zeros
or absent (60-byte headers), a rotator index of zeros, a running count, the position
within the row (restarting every row) or a frame counter, and now and then a few
corrupt values. Every header is read (``detect_scan(headers=...)``). "right": trusted
(Scan_x/Scan_y: what ``scan_shape="auto"`` takes; rotator index: confidence >= 0.9)
and the truth (by shape and start where the winding is assumed); "undecided": not
trusted or no scan; "wrong": trusted and not the truth. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from header_generator import generated_headers, verdict  # noqa: E402

from intake_tvips.recording.detect import detect_scan  # noqa: E402


def main(argv=None) -> int:
    """Run the sweep and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--show-wrong", type=int, default=10, help="wrong cases listed")
    args = parser.parse_args(argv)
    total = collections.Counter()
    by_kind = collections.defaultdict(collections.Counter)
    wrong = []
    for seed in range(args.seeds):
        g = generated_headers(np.random.default_rng(seed))
        d = detect_scan(headers=g["table"])
        v = verdict(d, g)
        total[v] += 1
        by_kind[g["case"].split("; ")[1]][v] += 1
        if v == "wrong":
            wrong.append(f"- seed {seed}: {g['case']} -> {d.method} {d.scan_shape} from "
                         f"{d.scan_start_frame}, winding {d.winding_scan_axis}, "
                         f"confidence {d.confidence:.2f}")  # fmt: skip
    print("| headers | right | undecided | wrong |\n|---|---|---|---|")
    for kind in sorted(by_kind):
        c = by_kind[kind]
        print(f"| {kind} | {c['right']} | {c['undecided']} | {c['wrong']} |")
    print(f"| **all {args.seeds}** | {total['right']} | {total['undecided']} | {total['wrong']} |")
    print("\n".join(["", *wrong[: args.show_wrong]]) if wrong else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
