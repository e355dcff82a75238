"""Evaluation (issue 20): sample-fit-assign in the engine against a full fit, and the truth.

Usage::

    python benchmarks/eval_engine_segment.py                       # 1M subscribers, seeds 7 8
    python benchmarks/eval_engine_segment.py --subscribers 50000 --seeds 7
    python benchmarks/eval_engine_segment.py --k 6 --samples 20000 100000 --budget 3600

For each seed, a ``large`` world of N subscribers generated with that seed (cached in
``datasets/generated/`` by :func:`workbench.synth.cache.cached_world`, which regenerates a world
made by another generator version) is segmented four ways, with the same method
(``deconvolved``), the same k (fixed, default 6) and the same seed:

- **full**: ``Segmenter(sample_size=None)`` fitted on every subscriber's features
  (``compute_features``): the reference;
- **engine S**: ``segment_in_engine(world, "duckdb", sample_size=S)`` for each S of
  ``--samples``: a stratified sample drawn in the engine, fitted locally, everyone assigned in
  the engine;
- **memory 20k**: ``Segmenter(sample_size=20000)``, the in-memory default (a random sample).

Printed for each: wall seconds, peak RSS of this process (psutil, every 50 ms), the segments'
sizes, the adjusted Rand index (ARI) with the full fit and the share of subscribers in the same
segment after the best one-to-one matching of labels (Hungarian algorithm on the contingency
table), and the ARI with the true personas (``truth_subscribers.persona``: evaluation code may
read the truth). Over several seeds the spread (mean, min, max) follows. Seeds after the first
are skipped once ``--budget`` seconds have passed. Prints figures; no assertions.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from bench_segment import PeakRSS


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def matched_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of rows with the same label after the best one-to-one matching of the labels."""
    from scipy.optimize import linear_sum_assignment

    table = pd.crosstab(a, b).to_numpy()
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(a))


def _sizes(labels: np.ndarray) -> str:
    counts = np.sort(np.bincount(pd.factorize(labels)[0]))[::-1]
    return " ".join(f"{100 * c / len(labels):.1f}" for c in counts)


def run_seed(n: int, seed: int, k: int, samples: list[int]) -> list[dict]:
    """Segment one world the four ways; print its table and return one record per method."""
    from sklearn.metrics import adjusted_rand_score

    from workbench.features import compute_features
    from workbench.segment import Segmenter
    from workbench.segment.scale import segment_in_engine
    from workbench.synth.cache import cached_world
    from workbench.truth import load_truth

    t = time.perf_counter()
    world = cached_world("large", n, seed)
    print(
        f"\nseed {seed}: world {world} ready in {time.perf_counter() - t:.0f} s "
        f"(generated once, then cached); load {_load()}",
        flush=True,
    )
    t = time.perf_counter()
    features = compute_features(world)
    print(
        f"  features: {len(features):,} subscribers x {features.shape[1]} columns in "
        f"{time.perf_counter() - t:.1f} s",
        flush=True,
    )
    ids = features.index.to_numpy()
    personas = load_truth(world, tables=["truth_subscribers"]).personas
    truth = personas.reindex(features.index).to_numpy()
    if pd.isna(truth).any():
        print(f"  note: {int(pd.isna(truth).sum())} subscribers without a true persona")

    runs: list[tuple[str, np.ndarray, float, float, str]] = []

    def record(name: str, labels: np.ndarray, seconds: float, peak: float, note: str = "") -> None:
        runs.append((name, np.asarray(labels), seconds, peak, note))
        print(f"  {name:<14} {seconds:7.1f} s  (load {_load()}) {note}", flush=True)

    with PeakRSS() as mem:
        t = time.perf_counter()
        seg = Segmenter("deconvolved", k, sample_size=None, random_state=seed, n_jobs=-1)
        labels = seg.fit(features).labels_
        wall = time.perf_counter() - t
    record("full", labels, wall, mem.peak)
    del seg

    for s in samples:
        with PeakRSS() as mem:
            t = time.perf_counter()
            res = segment_in_engine(world, "duckdb", k=k, sample_size=s, seed=seed)
            wall = time.perf_counter() - t
        got = res.segments.set_index("subscriber_id")["segment"].reindex(features.index)
        if got.isna().any():
            print(f"  engine {s}: {int(got.isna().sum())} subscribers not assigned")
        parts = ", ".join(f"{p} {v:.1f}" for p, v in res.seconds.items())
        record(
            f"engine {s // 1000}k",
            got.fillna(-1).to_numpy(dtype=np.int64),
            wall,
            mem.peak,
            f"(sample {res.n_sample:,}; {parts} s)",
        )
        del res, got

    with PeakRSS() as mem:
        t = time.perf_counter()
        seg = Segmenter("deconvolved", k, sample_size=20_000, random_state=seed, n_jobs=-1)
        labels = seg.fit(features).labels_
        wall = time.perf_counter() - t
    record("memory 20k", labels, wall, mem.peak)
    del seg, features

    full = runs[0][1]
    out = []
    print(f"\n  seed {seed}, {len(ids):,} subscribers, k={k}, method deconvolved")
    head = (
        f"  {'fit':<14} {'wall s':>8} {'peak MiB':>9} {'segs':>5} {'ARI full':>9} "
        f"{'match full':>11} {'ARI truth':>10}  sizes (% of subscribers)"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for name, labels, wall, peak, _ in runs:
        rec = {
            "seed": seed,
            "fit": name,
            "seconds": wall,
            "peak": peak,
            "segments": len(np.unique(labels)),
            "ari_full": adjusted_rand_score(full, labels),
            "match_full": matched_share(full, labels),
            "ari_truth": adjusted_rand_score(truth, labels),
        }
        out.append(rec)
        print(
            f"  {name:<14} {wall:>8.1f} {peak:>9,.0f} {rec['segments']:>5} "
            f"{rec['ari_full']:>9.3f} {rec['match_full']:>11.3f} {rec['ari_truth']:>10.3f}  "
            f"{_sizes(labels)}"
        )
    print(
        f"  {'(true personas)':<14} {'':>8} {'':>9} {len(np.unique(truth)):>5} "
        f"{adjusted_rand_score(full, truth):>9.3f} {matched_share(full, truth):>11.3f} "
        f"{1.0:>10.3f}  {_sizes(truth)}",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> None:
    """Run every seed (within the budget) and print the spread over seeds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, help="one seed (world and fits); default: --seeds")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    ap.add_argument("--k", type=int, default=6, help="segments, fixed (default 6)")
    ap.add_argument(
        "--samples",
        type=int,
        nargs="+",
        default=[20_000, 100_000],
        help="sample sizes of segment_in_engine (default 20000 100000)",
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds; later seeds are skipped once they have passed",
    )
    args = ap.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else list(dict.fromkeys(args.seeds))
    cores = psutil.cpu_count()
    print(
        f"machine: {cores} cores, load average {_load()} at start; {args.subscribers:,} "
        f"subscribers, scenario large, k={args.k}, seeds {seeds}"
    )
    start = time.perf_counter()
    records: list[dict] = []
    for i, seed in enumerate(seeds):
        if i and args.budget is not None and time.perf_counter() - start > args.budget:
            print(f"\nseed {seed}: skipped (--budget {args.budget:.0f} s passed)")
            continue
        records.extend(run_seed(args.subscribers, seed, args.k, args.samples))
    df = pd.DataFrame(records)
    if df["seed"].nunique() > 1:
        print(f"\nspread over seeds {sorted(int(s) for s in df['seed'].unique())}: mean [min, max]")
        order = list(dict.fromkeys(df["fit"]))
        print(f"  {'fit':<14} {'ARI full':>22} {'match full':>22} {'ARI truth':>22} {'wall s':>8}")
        for name in order:
            g = df[df["fit"] == name]
            cells = "".join(
                f" {g[c].mean():>8.3f} [{g[c].min():.3f}, {g[c].max():.3f}]"
                for c in ("ari_full", "match_full", "ari_truth")
            )
            print(f"  {name:<14}{cells} {g['seconds'].mean():>8.1f}")
    print(f"\nload average {_load()} at the end; whole run {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
