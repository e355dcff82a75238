"""Benchmark of the Bayesian test analysis. Prints measured figures; asserts nothing.

1. Conjugate analysis of ``--cells`` segment × arm cells (target ≤ 1 s) with
   :class:`workbench.experiments.ConjugateABTest`; its revenue metric on the same cells (target
   ≤ 1 s), beside the former draws-based revenue summary in the same run; and the same cells with
   the ``bayesian-testing`` package (PyPI ``bayesian-testing``, benchmark-only dependency;
   skipped when not installed), one ``BinaryDataTest`` per segment as that package works, in the
   same run. Prints the times, their ratios and the largest differences of P(best) (the peer
   estimates it by simulation).
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
    bench_revenue(table, repeats)
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


def bench_revenue(table: pd.DataFrame, repeats: int = 3, mc_draws: int = 4000) -> None:
    """Revenue metric (target ≤ 1 s): the exact engine, and the former draws-based summary.

    Order values are Gamma(2, 30) per converter; the draws-based summary (``mc_draws`` per cell,
    :func:`workbench.experiments._summary.summarize_draws`, what the revenue metric did before)
    runs once on the same cells, and the largest differences between the two are printed with
    the Monte Carlo standard error of P(best) for scale.
    """
    from workbench.experiments import ConjugateABTest
    from workbench.experiments._summary import summarize_draws

    rng = np.random.default_rng(1)
    conv = table["conversions"].to_numpy()
    table = table.assign(revenue=rng.gamma(2.0 * conv, 30.0) * (conv > 0))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = ConjugateABTest(metric="revenue").fit(table)
        times.append(time.perf_counter() - t0)
    print(f"  workbench revenue metric (exact, FFT grids): {min(times):.3f} s (best of {repeats})")
    res, lay = model.result_, model.layout_
    t0 = time.perf_counter()
    k = model.order_value_shape_
    a = lay.grid(1.0 + res["conversions"].to_numpy(float), 1.0)
    b = lay.grid(1.0 + (res["n"] - res["conversions"]).to_numpy(float), 1.0)
    m0 = res["revenue"].sum() / res["conversions"].sum()
    shape = lay.grid(1.0 + k * (1.0 + res["conversions"].to_numpy(float)), 2.0)
    rate = lay.grid(m0 + res["revenue"].to_numpy(float), 1.0)
    size = (*lay.shape, mc_draws)
    draws = (
        rng.beta(a[..., None], b[..., None], size)
        * k
        / rng.gamma(shape[..., None], 1 / rate[..., None], size)
    )
    mc = summarize_draws(draws, lay, hdi=model.hdi, rope=model.rope)
    t_mc = time.perf_counter() - t0
    print(f"  former draws-based revenue summary ({mc_draws:,} draws per cell): {t_mc:.3f} s")
    print(f"  ratio draws / exact: {t_mc / min(times):.1f}×")
    for col in ("prob_best", "prob_rope"):
        exact, drawn = res[col].to_numpy(), lay.rows(mc[col])
        se = np.sqrt(np.clip(exact * (1 - exact), 1e-12, None) / mc_draws)
        z = np.abs(exact - drawn) / se
        z = z[np.isfinite(z) & (se > 1e-5)]
        print(
            f"  {col} exact vs draws: max |Δ| {np.nanmax(np.abs(exact - drawn)):.4f}; in MC "
            f"standard errors: mean |z| {z.mean():.2f} (0.80 if all the difference is MC error), "
            f"max |z| {z.max():.2f} over {z.size:,} cells"
        )
    rel = np.nanmax(np.abs(res["rpr_hdi_high"].to_numpy() / lay.rows(mc["hdi_high"]) - 1))
    print(f"  max relative Δ upper HDI end exact vs draws: {rel:.4f}")


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
        from workbench.bayes.sampling import resolve_sampler

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
