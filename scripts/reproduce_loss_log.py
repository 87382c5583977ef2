"""Reproduce the makemore lecture's loss log at full length and save it for the chapters.

Trains the five rows of utils.models.NAMES_INITS (original, fix softmax, fix tanh, Kaiming,
BatchNorm) for 200,000 steps each with the lecture's recipe, using utils.train's
side-by-side engine, and writes utils/results/loss_log_full.json (package data) (rows, wall time,
machine, date, command). Run it as `make reproduce`; it prints and saves its wall time.

    python scripts/reproduce_loss_log.py [--steps 200000] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from utils.losslog import LECTURE_PRINTED, LECTURE_VAL, RESULTS_FILE, loss_log  # noqa: E402
from utils.models import NAMES_INITS  # noqa: E402


def _train_group(rows, steps, threads):
    torch.set_num_threads(threads)
    out = loss_log(steps, rows=rows, progress=rows[0] == "original")
    return {k: ({"train": v["train"], "val": v["val"]} if k != "seconds" else v)
            for k, v in out.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--serial", action="store_true",
                        help="train both groups in this process, one after the other")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.serial:
        if args.threads:
            torch.set_num_threads(args.threads)
        result = loss_log(args.steps)
        threads_note = f"{torch.get_num_threads()} torch threads, one process"
    else:
        # The four rows without BatchNorm train side by side in one process and the BatchNorm
        # row in another, each on one thread: on a 2-core machine this keeps both cores busy
        # with no thread contention (measured faster than one process with 2 threads).
        groups = [("original", "fix softmax", "fix tanh", "kaiming"), ("batchnorm",)]
        ctx = mp.get_context("spawn")
        with ctx.Pool(len(groups)) as pool:
            parts = pool.starmap(_train_group, [(g, args.steps, args.threads or 1) for g in groups])
        result = {"seconds": max(p.pop("seconds") for p in parts)}
        for part in parts:
            result.update(part)
        threads_note = f"2 processes x {args.threads or 1} torch thread"
    wall = time.perf_counter() - start
    rows = []
    print(f"{'row':12} {'train':>7} {'val':>7} {'lecture val':>12} {'difference':>11}")
    for row in NAMES_INITS:
        r = result[row]
        diff = r["val"] - LECTURE_VAL[row]
        rows.append({"init": row, "train": round(r["train"], 4), "val": round(r["val"], 4),
                     "lecture_val": LECTURE_VAL[row],
                     "lecture_printed_train": LECTURE_PRINTED[row][0],
                     "lecture_printed_val": LECTURE_PRINTED[row][1]})
        print(f"{row:12} {r['train']:7.4f} {r['val']:7.4f} {LECTURE_VAL[row]:12.2f} {diff:+11.4f}")
    record = {
        "command": "make reproduce  (python scripts/reproduce_loss_log.py)",
        "steps": args.steps, "batch_size": 32, "lr": "0.1, then 0.01 from step "
        f"{args.steps // 2:,}", "seed": 2147483647,
        "produced": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {threads_note}, "
                   f"torch {torch.__version__}",
        "wall_s": round(wall, 1), "training_s": round(result["seconds"], 1),
        "peak_memory_mb": round(max(resource.getrusage(who).ru_maxrss for who in
                                    (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(args.out)  # never a half-written file
    print(f"wall time {wall:.0f} s ({wall / 60:.1f} min); written to {args.out}")


if __name__ == "__main__":
    main()
