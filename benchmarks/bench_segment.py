"""Benchmark: ``workbench segment`` step by step at 30,000 and 1M subscribers, against KMeans.

Prints, for each size, the wall time and peak memory (resident set, via psutil sampling) of
what ``workbench segment --k auto`` does, step by step:
1. features (DuckDB over the Parquet parts),
2. model selection (``k="auto"``: every candidate k scored on a 5,000-subscriber sample),
3. the final fit on a 20k sample (the model with the chosen k) and the bulk assignment of every
   subscriber; the assignment alone is timed again by ``predict`` on every subscriber,
then the reference: scikit-learn KMeans at the same k on the full transformed matrix.

Usage: python benchmarks/bench_segment.py [--scenario large] [--n 30000 1000000] [--seed 0]
       [--k auto] [--method deconvolved|kmeans|gmm] [--jobs -1]
Worlds are generated into datasets/generated/ if missing (this takes a while for 1M).
"""

from __future__ import annotations

import argparse
import threading
import time

import psutil


class PeakRSS:
    """Sample this process's resident memory every 50 ms; ``peak`` in MiB."""

    def __enter__(self) -> PeakRSS:
        self.proc, self.peak, self._stop = psutil.Process(), 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="large")
    ap.add_argument(
        "--n", type=int, nargs="+", default=[30_000, 1_000_000], help="subscribers per world"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", default="auto", help="a number, or auto (default)")
    ap.add_argument("--method", default="deconvolved")
    ap.add_argument("--jobs", type=int, default=-1, help="threads (-1: every core, as the CLI)")
    args = ap.parse_args()
    k = args.k if args.k == "auto" else int(args.k)
    for n in args.n:
        run(args.scenario, n, args.seed, k, args.method, args.jobs)


def run(scenario: str, n: int, seed: int, k: int | str, method: str, jobs: int) -> None:
    """Time one world: features, model selection, final fit and assignment, reference KMeans."""

    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from workbench.features import compute_features
    from workbench.segment import Segmenter, choose_k
    from workbench.synth.cache import cached_world

    t = time.perf_counter()
    out = cached_world(scenario, n, seed, progress=True)
    print(f"world ready in {time.perf_counter() - t:.0f} s (generated once, then cached)")
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        feats = compute_features(out)
        t1 = time.perf_counter()
        k_val, _ = choose_k(feats, method, k, seed, n_jobs=jobs)
        t2 = time.perf_counter()
        seg = Segmenter(method, k_val, sample_size=20_000, random_state=seed, n_jobs=jobs)
        labels = seg.fit(feats).labels_  # fit assigns every row it is given, in bulk
        t3 = time.perf_counter()
    t4 = time.perf_counter()
    again = seg.predict(feats)
    t_assign = time.perf_counter() - t4
    assert np.array_equal(again, labels)
    print(f"world: {out} ({len(feats):,} subscribers, {feats.shape[1]} features), load "
          f"{open('/proc/loadavg').read().split()[0]}")  # fmt: skip
    print(f"  features (DuckDB)                     {t1 - t0:7.1f} s")
    print(
        f"  model selection (k={k}: {k_val})      {t2 - t1:7.1f} s".replace(
            "k=auto: ", "auto -> k="
        )
    )
    print(f"  final fit on 20k + assign all         {t3 - t2:7.1f} s  ({seg.n_segments_} segments)")
    print(f"    of which assignment (predict, all)  {t_assign:7.1f} s")
    print(
        f"  total                                 {t3 - t0:7.1f} s   peak RSS {mem.peak:,.0f} MiB"
    )
    with PeakRSS() as mem2:
        t5 = time.perf_counter()
        z = seg.transform(feats)
        ref = KMeans(n_clusters=k_val, n_init=4, random_state=seed).fit(z)
        t6 = time.perf_counter()
    print(
        f"  reference: sklearn KMeans (k={k_val}) on the full matrix {t6 - t5:7.1f} s   "
        f"peak RSS {mem2.peak:,.0f} MiB  ({ref.n_iter_} iterations)"
    )
    ari = adjusted_rand_score(ref.labels_, labels)
    print(f"  agreement of the workbench segments with the reference (ARI): {ari:.3f}")


if __name__ == "__main__":
    main()
