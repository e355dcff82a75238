"""The strategy lab against the truth on fresh worlds: does uplift targeting beat mass and random?

For each world seed (the ``default`` scenario unless told otherwise; seeds the lab was never
tuned on), generates the world, runs :func:`workbench.strategy.run_lab` (all four policies, the
uplift and random policies at the same budget of the reachable list), and prints per policy the
true incremental converters with their interval over the replications, the converters per 1,000
broadcasts, the extra unsubscribes, and what the observed data promised. Then, over the seeds,
the spread of the uplift policy's gain over random targeting at equal volume and over mass send
per 1,000 broadcasts, and the uplift model's held-out Qini coefficient and its rank correlation
with the true uplift of the test's participants (``truth_responses``).

Usage: python benchmarks/eval_strategy.py [--scenario default] [--seeds 21 22 23 24 25]
       [--weeks 4] [--replications 10] [--budget 0.5] [--model x]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seeds", type=int, nargs="+", default=[21, 22, 23, 24, 25])
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--budget", type=float, default=0.5)
    ap.add_argument("--model", default="x")
    args = ap.parse_args()

    from workbench.strategy import run_lab
    from workbench.synth import generate_world
    from workbench.truth import load_truth
    from workbench.uplift.data import split_test, world_uplift_table
    from workbench.uplift.learners import UpliftModel
    from workbench.uplift.scorecard import score_uplift, uplift_from_responses

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load {load:.2f}; scenario {args.scenario}, "
          f"{args.weeks} weeks, {args.replications} replications, budget {args.budget:.0%} "
          f"of the reachable list, learner {args.model}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            world = generate_world(args.scenario, seed=seed, out=Path(tmp) / f"w{seed}")
            t0 = time.perf_counter()
            res = run_lab(world, weeks=args.weeks, replications=args.replications,
                          budget=args.budget, model=args.model, seed=0)  # fmt: skip
            took = time.perf_counter() - t0
            t = res.policies.set_index("policy")
            print(f"\n== world seed {seed}: lab {took:.0f} s "
                  f"(load {os.getloadavg()[0]:.2f})")  # fmt: skip
            cols = ["targeted", "broadcasts", "incremental_conversions",
                    "incremental_conversions_low", "incremental_conversions_high",
                    "conversions_per_1000", "unsubscribes", "promised_conversions"]  # fmt: skip
            print(t[cols].round(1).to_string())
            # the same learner scored against the true uplift of the test's held-out half
            data = world_uplift_table(world)
            test = split_test(data, 0.5, seed=0)
            train = data.compared & ~test
            m = UpliftModel(learner=args.model, random_state=0, oof=False)
            m.fit(data.X[train], data.y[train], data.treatment[train])
            resp = load_truth(world, tables=["truth_responses"])["truth_responses"]
            truth = uplift_from_responses(resp, data.experiment_id, "mass", "holdout")
            card = score_uplift(pd.Series(m.predict(data.X[test]), index=data.X.index[test]), truth)
            u, r, mass = t.loc["uplift"], t.loc["random"], t.loc["mass"]
            rows.append({
                "seed": seed,
                "uplift_vs_random": u["incremental_conversions"] / r["incremental_conversions"] - 1,
                "uplift_beats_random": bool(u["incremental_conversions_low"]
                                            > r["incremental_conversions_high"]),
                "per_1000_vs_mass": u["conversions_per_1000"] / mass["conversions_per_1000"] - 1,
                "playbook_vs_mass": t.loc["playbook", "incremental_conversions"]
                / mass["incremental_conversions"] - 1,
                "qini_held_out": res.uplift_test["qini_coefficient"],
                "spearman_true": card["spearman"],
                "uplift_promise_error": u["promise_error"] / u["incremental_conversions"],
                "lab_seconds": took,
            })  # fmt: skip
    out = pd.DataFrame(rows).set_index("seed")
    print("\n== over the seeds")
    print(out.round(3).to_string())
    num = out.drop(columns="uplift_beats_random")
    print("\nmean (min to max):")
    for c in num.columns:
        v = num[c].to_numpy(dtype=float)
        print(f"  {c}: {np.mean(v):.3f} ({np.min(v):.3f} to {np.max(v):.3f})")
    print(f"  uplift beats random (intervals apart): {int(out['uplift_beats_random'].sum())} of "
          f"{len(out)} seeds")  # fmt: skip


if __name__ == "__main__":
    main()
