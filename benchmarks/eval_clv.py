"""Customer-value predictions against what really happened next, over seeds and scenarios.

For each scenario and seed, generates a world (cached under datasets/generated/), fits each
purchase model by maximum likelihood on the world's whole observed window, and scores it with
:func:`workbench.clv.scorecard.score_predictions` against the world's truth: who was still a
customer at the end (AUC and Brier score of P(alive)) and the orders of the following
``holdout_days`` (per-customer error, total error, correlation), beside the naive rule "recent
buyers buy again". Prints one row per world and model, then the mean and range over seeds.

Usage::

    .venv/bin/python benchmarks/eval_clv.py [--scenarios default,tiny] [--seeds 11,12,13,14,15]
        [--models bgnbd,paretonbd,mbgnbd]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def main() -> None:
    from workbench.clv import world_value
    from workbench.clv.scorecard import score_predictions
    from workbench.synth.cache import cached_world
    from workbench.truth import load_truth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="default,tiny")
    ap.add_argument("--seeds", default="11,12,13,14,15")
    ap.add_argument("--models", default="bgnbd,paretonbd,mbgnbd")
    a = ap.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {f.read().split()[0]} (2 cores)")
    rows = []
    for scenario in a.scenarios.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            path = cached_world(scenario, seed=seed)
            truth = load_truth(path, tables=["truth_subscribers"])
            naive_done = False
            for model in a.models.split(","):
                t0 = time.perf_counter()
                value = world_value(path, model=model, method="mle")
                secs = time.perf_counter() - t0
                card = score_predictions(value, truth)
                for _, r in card.iterrows():
                    is_naive = r["method"] != model
                    if is_naive and naive_done:
                        continue
                    naive_done |= is_naive
                    rows.append({"scenario": scenario, "seed": seed, **r.to_dict(),
                                 "fit_s": None if is_naive else secs})  # fmt: skip
    table = pd.DataFrame(rows)
    cols = ["alive_auc", "alive_brier", "purchases_mae", "purchases_total_error", "purchases_corr"]
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    print("\nmean [min, max] over seeds")
    for (scenario, method), g in table.groupby(["scenario", "method"], sort=False):
        parts = [f"{c} {g[c].mean():.3f} [{g[c].min():.3f}, {g[c].max():.3f}]" for c in cols]
        print(f"{scenario:<8} {method:<24} " + "  ".join(parts))
    with open("/proc/loadavg") as f:
        print(f"load average at end: {f.read().split()[0]}")


if __name__ == "__main__":
    main()
