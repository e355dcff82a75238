"""Benchmark of the Bayesian test analysis. Prints measured figures; asserts nothing.

1. Conjugate analysis of ``--cells`` segment × arm cells (target ≤ 1 s) with
   :class:`workbench.experiments.ConjugateABTest`, and the same cells with the ``bayesian-testing``
   package (PyPI ``bayesian-testing``, benchmark-only dependency; skipped when not installed),
   one ``BinaryDataTest`` per segment as that package works, in the same run. Prints both times,
   their ratio and the largest difference of P(best) (the peer estimates it by simulation).
2. Hierarchical PyMC model with ``--segments`` segments (target ≤ 10 s sampling on 2 cores with
   R-hat ≤ 1.01, bulk ESS ≥ 400 and no divergences), with each NUTS implementation of
   ``--samplers`` (nutpie, the default, and PyMC's own) in the same run, and their ratio
   (``--unpooled`` adds the unpooled model). Sampling time is the sampler's own
   ``sampling_time`` (tuning included); compilation is the rest of the ``pm.sample`` call. ESS
   per second is the smallest bulk ESS over the model's parameters per second of sampling.

Usage::

    .venv/bin/python benchmarks/bench_abtest.py [--cells 10000] [--segments 1000] [--skip-pymc]
        [--samplers nutpie,pymc] [--chains 2] [--draws 2000] [--tune 1000] [--seed 0]
        [--unpooled] [--skip-conjugate]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_cells(n_segments: int, n_arms: int = 2, seed: int = 0) -> pd.DataFrame:
    """Aggregated results of ``n_segments`` segments × ``n_arms`` arms (small to large cells)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.01, 0.12, n_segments)
    lift = rng.normal(0.05, 0.1, (n_segments, n_arms))
    lift[:, 0] = 0.0
    n = rng.integers(100, 5000, (n_segments, n_arms))
    c = rng.binomial(n, np.clip(base[:, None] * (1 + lift), 0, 1))
    arms = ["control"] + [f"v{i}" for i in range(1, n_arms)]
    return pd.DataFrame(
        {
            "segment": np.repeat([f"s{i:05d}" for i in range(n_segments)], n_arms),
            "arm": np.tile(arms, n_segments),
            "n": n.ravel(),
            "conversions": c.ravel(),
        }
    )


def bench_conjugate(n_cells: int, repeats: int = 3) -> None:
    from workbench.experiments import ConjugateABTest, from_aggregated

    df = make_cells(n_cells // 2)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        table = from_aggregated(df)
        ours = ConjugateABTest().fit(table).result_
        times.append(time.perf_counter() - t0)
    t_ours = min(times)
    print(f"conjugate, {len(df):,} cells ({df['segment'].nunique():,} segments × 2 arms)")
    print(f"  workbench ConjugateABTest (exact quadrature): {t_ours:.3f} s (best of {repeats})")
    t0 = time.perf_counter()
    rev = ConjugateABTest(metric="revenue", n_draws=4000).fit(
        table.assign(revenue=table["conversions"] * 50.0)
    )
    t_rev = time.perf_counter() - t0
    print(f"  workbench revenue metric (4,000 draws per cell): {t_rev:.3f} s")
    del rev
    try:
        from bayesian_testing.experiments import BinaryDataTest
    except ImportError:
        print("  bayesian-testing not installed: pip install bayesian-testing to compare")
        return
    t0 = time.perf_counter()
    peer = {}
    for seg, sub in df.groupby("segment", sort=True):  # the peer's API is one test per segment
        test = BinaryDataTest()
        for arm, n, c in sub[["arm", "n", "conversions"]].itertuples(index=False):
            test.add_variant_data_agg(arm, int(n), int(c), a_prior=1, b_prior=1)
        for r in test.evaluate(seed=0):
            peer[(seg, r["variant"])] = r["prob_being_best"]
    t_peer = time.perf_counter() - t0
    ours_pb = ours.set_index(["segment", "arm"])["prob_best"]
    diff = np.abs(ours_pb - pd.Series(peer).reindex(ours_pb.index)).max()
    print(f"  bayesian-testing 0.x BinaryDataTest (20,000 draws):   {t_peer:.3f} s")
    print(f"  ratio peer / workbench: {t_peer / t_ours:.1f}×;  max |ΔP(best)| = {diff:.4f}")


def bench_hierarchical(
    n_segments: int,
    draws: int,
    tune: int,
    chains: int,
    samplers: list[str],
    unpooled: bool = False,
    seed: int = 0,
) -> None:
    from workbench.experiments import from_aggregated
    from workbench.experiments.hierarchical import HierarchicalABTest

    table = from_aggregated(make_cells(n_segments, seed=1))
    print(
        f"PyMC models, {n_segments:,} segments × 2 arms, {chains} chains × {draws} draws "
        f"({tune} tune), seed {seed}"
    )
    per_sampler = {}
    for pooling in ("partial", "none") if unpooled else ("partial",):
        for sampler in samplers:
            model = HierarchicalABTest(
                pooling=pooling,
                draws=draws,
                tune=tune,
                chains=chains,
                sampler=sampler,
                seed=seed,
                warn=False,
            ).fit(table)
            info, diag = model.sampling_, model.diagnostics_
            stats = model.idata_["sample_stats"]
            steps = float(stats["n_steps"].values.mean()) if "n_steps" in stats else float("nan")
            ess_s = diag.min_ess_bulk / info.sampling_time
            name = "partial pooling" if pooling == "partial" else "no pooling"
            print(
                f"  {info.sampler:6s} {name:15s} (target_accept {model.target_accept_}): "
                f"sampling {info.sampling_time:5.1f} s, compile {info.compile_time:5.1f} s, "
                f"{steps:4.1f} leapfrog steps/draw; {diag} → {'OK' if diag.ok else 'FAILED'}; "
                f"min bulk ESS per second {ess_s:5.1f}"
            )
            if pooling == "partial":
                per_sampler[info.sampler] = (info.sampling_time, ess_s)
    if {"nutpie", "pymc"} <= set(per_sampler):
        (t_n, e_n), (t_p, e_p) = per_sampler["nutpie"], per_sampler["pymc"]
        print(
            f"  partial pooling, PyMC NUTS / nutpie: sampling time {t_p / t_n:.1f}×, "
            f"ESS per second {e_n / e_p:.1f}× in nutpie's favour"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=10_000)
    p.add_argument("--segments", type=int, default=1_000)
    p.add_argument("--draws", type=int, default=2000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--samplers", default="auto,pymc", help="comma-separated: auto, nutpie, pymc")
    p.add_argument("--seed", type=int, default=0, help="seed of the PyMC fits")
    p.add_argument("--unpooled", action="store_true", help="also fit the unpooled PyMC model")
    p.add_argument("--skip-pymc", action="store_true")
    p.add_argument("--skip-conjugate", action="store_true")
    args = p.parse_args()
    print(f"load average at start: {_loadavg()}")
    if not args.skip_conjugate:
        bench_conjugate(args.cells)
    if not args.skip_pymc:
        from workbench.experiments._sampling import resolve_sampler

        samplers = list(dict.fromkeys(resolve_sampler(s) for s in args.samplers.split(",")))
        bench_hierarchical(
            args.segments, args.draws, args.tune, args.chains, samplers, args.unpooled, args.seed
        )
    print(f"load average at end: {_loadavg()}")


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
