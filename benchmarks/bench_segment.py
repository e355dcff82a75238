"""Benchmark: features + fit + bulk assignment on the `large` world, against plain KMeans.

Prints wall times and peak memory (resident set, via psutil sampling) of:
1. feature computation (DuckDB over the Parquet parts),
2. the workbench pipeline: transform, the model (default: the recommended deconvolving mixture)
   fitted on a 20k sample, every subscriber assigned in bulk,
3. the reference: scikit-learn KMeans fitted on the full transformed feature matrix.

Usage: python benchmarks/bench_segment.py [--scenario large] [--n N] [--seed 0] [--k 9]
       [--method deconvolved|kmeans|gmm]
The world is generated into datasets/generated/ if missing (this takes a while for `large`).
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
    ap.add_argument("--n", type=int, default=None, help="subscribers (default: the scenario's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=9)
    ap.add_argument("--method", default="deconvolved")
    args = ap.parse_args()

    import numpy as np
    from sklearn.cluster import KMeans

    from workbench.features import compute_features
    from workbench.segment import Segmenter
    from workbench.synth.cache import cached_world

    t = time.perf_counter()
    out = cached_world(args.scenario, args.n, args.seed, progress=True)
    print(f"world ready in {time.perf_counter() - t:.0f} s (generated once, then cached)")
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        feats = compute_features(out)
        t1 = time.perf_counter()
        seg = Segmenter(args.method, args.k, sample_size=20_000, random_state=args.seed).fit(feats)
        labels = seg.labels_  # fit assigns every row it is given, in bulk
        t2 = time.perf_counter()
    print(f"world: {out} ({len(feats):,} subscribers, {feats.shape[1]} features)")
    print(f"features (DuckDB)            {t1 - t0:8.1f} s")
    print(
        f"{args.method}: fit on 20k + assign all {t2 - t1:8.1f} s  "
        f"({len(np.unique(labels))} segments)"
    )
    print(f"total                        {t2 - t0:8.1f} s   peak RSS {mem.peak:,.0f} MiB")
    with PeakRSS() as mem2:
        t3 = time.perf_counter()
        z = seg.transform(feats)
        ref = KMeans(n_clusters=args.k, n_init=4, random_state=args.seed).fit(z)
        t4 = time.perf_counter()
    print(
        f"reference: sklearn KMeans on the full matrix {t4 - t3:8.1f} s   "
        f"peak RSS {mem2.peak:,.0f} MiB  ({ref.n_iter_} iterations)"
    )
    from sklearn.metrics import adjusted_rand_score

    ari = adjusted_rand_score(ref.labels_, labels)
    print(f"agreement of the workbench segments with the reference (ARI): {ari:.3f}")


if __name__ == "__main__":
    main()
