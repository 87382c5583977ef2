"""Benchmark: utils.train's side-by-side engine against the lecture's plain autograd loop.

For each workload both contenders train the same variants from the same generators for the
same number of steps (batch 32, the lecture's SGD update), on the names training set:

  (a) names MLP          1 variant  (the lecture's model, Kaiming init)
  (b) loss-log inits     4 variants (original, fix softmax, fix tanh, Kaiming)
  (c) deep tanh net      4 variants (5 hidden layers of 100; gains 0.5, 1, 5/3, 3), with the
                         lecture's per-step update:data ratios recorded on both sides
  (d) the same           without the update:data ratios (training only)

The plain loop trains the variants one after the other, as the lecture would; the engine
trains them in one batched computation. Each measurement runs in a fresh process (so its peak
memory is its own) at 1 and at 2 threads, three times; the median rate is reported. The script checks that both sides produced the same
per-variant losses, bit for bit, then prints model-steps per second, the ratio, and the peak
resident memory of each process.

    python benchmarks/engine.py                 # 2,000 steps per variant (a few minutes)
    python benchmarks/engine.py --steps 500     # quicker
    python benchmarks/engine.py --json utils/results/engine_benchmark.json   # what `make benchmark` runs

With ``--json`` the table is also written (machine, versions, date, one row per workload and
thread count) to the file the appendix page "How this course trains many variants at once"
reads; it is package data of ``utils``, like the lecture-length loss log.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
import traceback
from queue import Empty
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORKLOADS = {
    "a": ("(a) names MLP, 1 variant", "names", ["kaiming"]),
    "b": ("(b) loss-log inits, 4 variants", "names", ["original", "fix softmax", "fix tanh", "kaiming"]),
    "c": ("(c) deep tanh net, 4 gains", "deep", [0.5, 1.0, 5 / 3, 3.0]),
    "d": ("(d) = (c) without update ratios", "deep-quiet", [0.5, 1.0, 5 / 3, 3.0]),
}
SEED = 2147483647


def _build(kind, variant):
    import torch

    from utils.models import deep_mlp, names_mlp
    g = torch.Generator().manual_seed(SEED)
    if kind == "names":
        return names_mlp(variant, generator=g), g  # "deep" and "deep-quiet": the same net
    return deep_mlp(generator=g, gain=variant), g


def _plain(kind, variants, X, Y, steps):
    """The lecture's loop, one variant after the other."""
    import torch
    import torch.nn.functional as F

    all_losses = []
    for variant in variants:
        model, g = _build(kind, variant)
        parameters = model.parameters()
        lossi, ud = [], []
        for i in range(steps):
            ix = torch.randint(0, X.shape[0], (32,), generator=g)
            Xb, Yb = X[ix], Y[ix]
            logits = model(Xb)
            loss = F.cross_entropy(logits, Yb)
            for p in parameters:
                p.grad = None
            loss.backward()
            lr = 0.1 if i < 100_000 else 0.01
            for p in parameters:
                p.data += -lr * p.grad
            lossi.append(loss.item())
            if kind == "deep":  # the lecture's update:data ratios, one .item() per weight
                with torch.no_grad():
                    ud.append([((lr * p.grad).std() / p.data.std()).log10().item()
                               for p in parameters if p.ndim == 2])
        all_losses.append(torch.tensor(lossi))
    return torch.stack(all_losses)


def _engine(kind, variants, X, Y, steps):
    from utils.train import Recorder, step_decay, train

    pairs = [_build(kind, v) for v in variants]
    record = Recorder(snapshots=(), update_ratios=True) if kind == "deep" else None
    run = train([m for m, _ in pairs], X, Y, steps=steps, generators=[g for _, g in pairs],
                lr=step_decay(0.1, 0.01, at=100_000), record=record, progress=False)
    return run.losses


def _measure(args):
    contender, key, threads, steps, queue = args
    try:
        import torch
        torch.set_num_threads(threads)
        from utils.data import names_splits
        (X, Y), _, _ = names_splits(3)
        _, kind, variants = WORKLOADS[key]
        fn = _plain if contender == "plain" else _engine
        fn(kind, variants, X, Y, min(steps, 50))  # warm-up (allocator, kernels)
        start = time.perf_counter()
        losses = fn(kind, variants, X, Y, steps)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put(("ok", (len(variants) * steps / seconds, peak_mb, losses.tolist())))  # plain floats
    except BaseException:  # noqa: BLE001 - sent to the parent, which raises it with context
        queue.put(("error", traceback.format_exc()))


MEASURE_TIMEOUT_S = 1800


def measure(contender, key, threads, steps):
    """Run one measurement in a fresh process. A child that fails ends the benchmark with
    the child's traceback; one that dies without a word, or runs past MEASURE_TIMEOUT_S,
    with its exit code; the parent never waits for ever."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=((contender, key, threads, steps, queue),))
    proc.start()
    deadline = time.monotonic() + MEASURE_TIMEOUT_S
    result = None
    while result is None:
        try:
            result = queue.get(timeout=1.0)
        except Empty:
            if not proc.is_alive() and queue.empty():
                proc.join()
                raise RuntimeError(f"{contender} {key} with {threads} threads: the measuring "
                                   f"process died (exit code {proc.exitcode}) without a result") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{contender} {key} with {threads} threads: no result after "
                                   f"{MEASURE_TIMEOUT_S} s") from None
    proc.join()
    status, payload = result
    if status == "error":
        raise RuntimeError(f"{contender} {key} with {threads} threads failed:\n{payload}")
    return payload


def _median_of(repeats, contender, key, threads, steps):
    """Alternating fresh processes would be fairer still; the median of a few runs keeps
    one disturbed run (a busy neighbour on a shared machine) from deciding the ratio."""
    runs = [measure(contender, key, threads, steps) for _ in range(max(1, repeats))]
    rates = sorted(r[0] for r in runs)
    return rates[len(rates) // 2], max(r[1] for r in runs), runs[0][2]


def main(argv=None):
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per variant")
    parser.add_argument("--workloads", default="abcd", help="which of a, b, c, d (default: abcd)")
    parser.add_argument("--threads", default="1,2", help="thread counts to try (default: 1,2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh processes per measurement; the median rate is reported")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the table to this JSON file")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    print(f"machine: {platform.machine()}, {mp.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, torch {torch.__version__}; {args.steps} steps per variant")
    print(f"{'workload':34} {'thr':>3} {'plain steps/s':>14} {'engine steps/s':>15} "
          f"{'ratio':>6} {'plain MB':>9} {'engine MB':>10}  same losses")
    summary, rows = [], []
    load_before = os.getloadavg()[0]
    for key in args.workloads:
        label = WORKLOADS[key][0]
        best = {}
        for t in threads:
            p_rate, p_mb, p_losses = _median_of(args.repeats, "plain", key, t, args.steps)
            e_rate, e_mb, e_losses = _median_of(args.repeats, "engine", key, t, args.steps)
            same = p_losses == e_losses  # lists of Python floats: exact comparison
            print(f"{label:34} {t:>3} {p_rate:>14,.0f} {e_rate:>15,.0f} {e_rate / p_rate:>5.2f}x "
                  f"{p_mb:>9.0f} {e_mb:>10.0f}  {'bit for bit' if same else 'DIFFERENT'}")
            if not same:
                raise SystemExit(f"{label}: the engine's losses differ from the plain loop's")
            rows.append({"workload": label, "variants": len(WORKLOADS[key][2]), "threads": t,
                         "plain_steps_per_s": round(p_rate), "engine_steps_per_s": round(e_rate),
                         "ratio": round(e_rate / p_rate, 2), "plain_mb": round(p_mb),
                         "engine_mb": round(e_mb), "same_losses": same})
            best["plain"] = max(best.get("plain", (0,)), (p_rate, t))
            best["engine"] = max(best.get("engine", (0,)), (e_rate, t))
        (p_rate, p_t), (e_rate, e_t) = best["plain"], best["engine"]
        summary.append(f"{label}: engine {e_rate:,.0f} model-steps/s ({e_t} thr) vs plain "
                       f"{p_rate:,.0f} ({p_t} thr): {e_rate / p_rate:.2f}x")
    print("\nbest of each (thread count in brackets):")
    print("\n".join(summary))
    if args.json is not None:
        args.json.write_text(json.dumps({
            "machine": f"{platform.machine()}, {mp.cpu_count()} CPUs",
            "python": platform.python_version(), "torch": torch.__version__,
            "steps_per_variant": args.steps, "repeats": args.repeats,
            "load_average_before": round(load_before, 2),
            "date": datetime.date.today().isoformat(), "rows": rows}, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
