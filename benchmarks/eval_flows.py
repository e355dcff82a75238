"""Flow holdouts against the truth on fresh worlds: the scorecard over seeds.

For each world seed (the ``default`` scenario, whose welcome and cart-abandonment flows hold out
30% of their entrants for seven weeks, with a 14-day conversion window), generates the world,
measures every flow holdout (:func:`workbench.flows.flow_incrementality`, regression-adjusted,
90% intervals) and scores it against the world's truth
(:func:`workbench.flows.scorecard.score_flow_holdouts`: the mean over the same entrants of the
true exposed minus held-out chance of an order in the window, and the expected revenue). Prints
one table per seed (estimate, interval, truth, error in standard errors, covered) with the time
each flow function took, then per flow and metric over the seeds: the mean and spread of the
error in standard errors (about 0 and 1 when the intervals are honest) and the coverage.

Usage: python benchmarks/eval_flows.py [--seeds 101 102 103 104] [--subscribers 50000]
       [--scenario default] [--out DIR]  (DIR keeps the worlds, w-flows-SEED, and reuses them)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104])
    ap.add_argument("--subscribers", type=int, default=50_000)
    ap.add_argument("--out", type=Path, default=None, help="keep (and reuse) the worlds here")
    args = ap.parse_args()

    from workbench.flows import flow_funnel, flow_incrementality, time_to_conversion
    from workbench.flows.scorecard import score_flow_holdouts
    from workbench.synth import generate_world
    from workbench.synth.cache import is_current

    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; scenario "
          f"{args.scenario}, {args.subscribers:,} subscribers, seeds {args.seeds}")  # fmt: skip
    cards = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for seed in args.seeds:
            path = root / f"w-flows-{seed}"
            t0 = time.perf_counter()
            if not is_current(path):
                generate_world(args.scenario, n_subscribers=args.subscribers, seed=seed, out=path)
            gen = time.perf_counter() - t0
            took = {}
            for name, fn in (
                ("flow_funnel", flow_funnel),
                ("time_to_conversion", time_to_conversion),
                ("flow_incrementality", flow_incrementality),
            ):
                t0 = time.perf_counter()
                out = fn(path)
                took[name] = time.perf_counter() - t0
            card = score_flow_holdouts(path, out).assign(seed=seed)
            # the arms' observed means beside their truth, and the unadjusted difference
            naive = flow_incrementality(path, adjust=False).set_index("experiment_id")
            est = out.set_index("experiment_id")
            conv = card["metric"] == "conversion_rate"
            for col, (c_rate, c_rev) in {
                "observed_exposed": ("rate_exposed", "revenue_exposed"),
                "observed_holdout": ("rate_holdout", "revenue_holdout"),
                "unadjusted": ("incremental_rate", "incremental_revenue_per_entrant"),
            }.items():
                src = naive if col == "unadjusted" else est
                card[col] = [src.loc[e, c_rate if c else c_rev]
                             for e, c in zip(card["experiment_id"], conv, strict=True)]  # fmt: skip
            cards.append(card)
            times = ", ".join(f"{k} {v:.2f} s" for k, v in took.items())
            print(f"\n== seed {seed}: world {gen:.0f} s; {times}")
            show = card.drop(columns=["seed", "experiment_id", "low", "high"]).copy()
            print(show.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not cards:
        return
    allc = pd.concat(cards, ignore_index=True)
    summary = allc.groupby(["flow", "metric"], sort=False).agg(
        seeds=("seed", "nunique"),
        mean_truth=("truth", "mean"),
        mean_estimate=("estimate", "mean"),
        mean_abs_error=("error", lambda e: e.abs().mean()),
        error_sd_mean=("error_in_sd", "mean"),
        error_sd_spread=("error_in_sd", "std"),
        coverage=("covered", "mean"),
        exposed_minus_truth=("observed_exposed", "mean"),
        holdout_minus_truth=("observed_holdout", "mean"),
    )
    # mean observed minus true mean per arm (which arm an error comes from)
    for arm in ("exposed", "holdout"):
        gap = (allc[f"observed_{arm}"] - allc[f"truth_{arm}"]).groupby(
            [allc["flow"], allc["metric"]], sort=False
        )
        summary[f"{arm}_minus_truth"] = gap.mean()
    print(f"\n== over {len(args.seeds)} seeds: error in standard errors (mean, sd) and coverage "
          "of the 90% intervals")  # fmt: skip
    print(summary.to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
