"""Calibration study of the test analysis: coverage and decision errors against known truth.

For each replicate a ``tiny`` world is generated (seed = replicate); its ``truth_effects`` give the
true conversion rate of every arm in every true cohort (persona) of each A/B test. Test results
are simulated from those rates with small segments (``--n-min`` … ``--n-max`` recipients per
segment × arm, drawn at random), then analysed by the unpooled conjugate model and by the
hierarchical PyMC model. The script prints, per model and for all / small cells:

* ``cover_rate``: share of cells whose true rate lies in the 90 % HDI (target 0.88–0.92);
* ``cover_lift``: the same for the relative lift vs control;
* ``false_win``: share of variant cells with P(beat control) > 0.95 whose true lift is ≤ 0;
* ``wrong_best``: share of segments with a clear true winner (≥ 5 % above the runner-up) whose
  most probable best arm is not it;
* ``ship_rate``: share of segments where the decision rule ships an arm; ``bad_ship``: share of
  those where the shipped arm is more than 1 % worse than the true best;
* ``lift_rmse``: root mean squared error of the lift estimate.

Usage::

    .venv/bin/python benchmarks/calibration.py [--replicates 6] [--draws 500] [--n-min 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def simulate(
    truth: pd.DataFrame,
    rng: np.random.Generator,
    n_min: int,
    n_max: int,
    control: str,
    lift_spread: float | None = None,
):
    """Aggregated results of one experiment simulated from true per-persona rates.

    With ``lift_spread`` the world's true lifts are replaced by log-odds lifts drawn from
    ``N(0, lift_spread)`` per segment × variant (the world's control rates are kept): a truth
    drawn from the hierarchical model's own family, where its intervals should be nominal.
    """
    from workbench.experiments import from_aggregated

    t = truth.rename(columns={"persona": "segment", "conversion_rate": "p_true"})
    t = t[["segment", "arm", "p_true"]].reset_index(drop=True)
    if lift_spread is not None:
        p_c = t["segment"].map(t.loc[t["arm"] == control].set_index("segment")["p_true"])
        logit = np.log(p_c / (1 - p_c)) + np.where(
            t["arm"] == control, 0.0, rng.normal(0.0, lift_spread, len(t))
        )
        t["p_true"] = 1 / (1 + np.exp(-logit))
    t["n"] = rng.integers(n_min, n_max + 1, len(t))
    t["conversions"] = rng.binomial(t["n"].to_numpy(), t["p_true"].to_numpy())
    return from_aggregated(t[["segment", "arm", "n", "conversions"]]), t


def score(result: pd.DataFrame, truth: pd.DataFrame, control: str, small: int) -> pd.DataFrame:
    """Per-cell calibration indicators of one analysis."""
    m = result.merge(truth[["segment", "arm", "p_true"]], on=["segment", "arm"])
    ctrl = m.loc[m["arm"] == control, ["segment", "p_true"]].rename(columns={"p_true": "p_c"})
    m = m.merge(ctrl, on="segment")
    m["lift_true"] = m["p_true"] / m["p_c"] - 1
    m["cover_rate"] = (m["rate_hdi_low"] <= m["p_true"]) & (m["p_true"] <= m["rate_hdi_high"])
    var = m["arm"] != control
    m["cover_lift"] = np.where(
        var, (m["lift_low"] <= m["lift_true"]) & (m["lift_true"] <= m["lift_high"]), np.nan
    )
    m["false_win"] = np.where(var, (m["prob_beat_control"] > 0.95) & (m["lift_true"] <= 0), np.nan)
    m["lift_sqerr"] = np.where(var, (m["lift_mean"] - m["lift_true"]) ** 2, np.nan)
    g = m.groupby("segment")["p_true"]
    m["p_best"] = g.transform("max")
    runner_up = g.transform(lambda x: x.nlargest(2).iloc[-1])
    # the true best is clear when it beats the runner-up by more than 5 % (relative)
    clear = (m["p_best"] > 1.05 * runner_up).groupby(m["segment"]).transform("any")
    est_best = m["prob_best"] == m.groupby("segment")["prob_best"].transform("max")
    picked = m.loc[est_best].drop_duplicates("segment").set_index("segment")["p_true"]
    m["wrong_best"] = np.where(
        clear, m["segment"].map(picked) < m["p_best"], np.nan
    )  # segment-level: the most probable best arm is not the true best
    ship = m["decision"] == "ship"
    m["shipped"] = ship.groupby(m["segment"]).transform("any")
    bad = ship & (m["p_true"] < m["p_best"] / 1.01)  # shipped an arm > 1 % worse than the best
    m["bad_ship"] = np.where(m["shipped"], bad.groupby(m["segment"]).transform("any"), np.nan)
    m["small"] = m.groupby("segment")["n"].transform("min") < small
    return m


def _spread(model, truth: pd.DataFrame, control: str) -> dict[str, float]:
    """True sd of the log-odds lifts across segments vs the posterior of ``σ_δ`` (per variant)."""
    t = truth.assign(logit=np.log(truth["p_true"] / (1 - truth["p_true"])))
    base = t["segment"].map(t.loc[t["arm"] == control].set_index("segment")["logit"])
    lift = (t["logit"] - base)[t["arm"] != control]
    true_sd = lift.groupby(t.loc[t["arm"] != control, "arm"]).std(ddof=0)
    post = model.idata_["posterior"]["delta_sigma"]
    var = [str(v) for v in post["variant"].values]
    draws = post.values.reshape(-1, len(var))
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    ts = true_sd.reindex(var).to_numpy()
    return {
        "true_sd": float(ts.mean()),
        "post_mean": float(draws.mean()),
        "post_low": float(lo.mean()),
        "post_high": float(hi.mean()),
        "below": float((ts < lo).mean()),
    }


def summarise(cells: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (model, subset), d in [
        *[((mdl, "all"), g) for mdl, g in cells.groupby("model")],
        *[((mdl, "small"), g[g["small"]]) for mdl, g in cells.groupby("model")],
    ]:
        seg = d.drop_duplicates(["replicate", "experiment", "segment"])
        rows.append(
            {
                "model": model,
                "cells": subset,
                "n_cells": len(d),
                "cover_rate": d["cover_rate"].mean(),
                "cover_lift": d["cover_lift"].mean(),
                "false_win": d["false_win"].mean(),
                "wrong_best": seg["wrong_best"].mean(),
                "ship_rate": seg["shipped"].mean(),
                "bad_ship": seg["bad_ship"].mean(),
                "lift_rmse": float(np.sqrt(d["lift_sqerr"].mean())),
            }
        )
    return pd.DataFrame(rows).sort_values(["cells", "model"]).reset_index(drop=True)


LIFT_BINS = (-np.inf, 0.0, 0.02, 0.05, 0.1, np.inf)
LIFT_LABELS = ("0 (no effect)", "(0, 2 %]", "(2, 5 %]", "(5, 10 %]", "> 10 %")


def coverage_by_lift(cells: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the lift intervals per model and size of the true lift ``|lift_true|``.

    Also the mean interval width and the mean signed error of the lift estimate (shrinkage
    towards the common lift shows as a negative bias for large positive lifts and vice versa).
    """
    v = cells.loc[cells["cover_lift"].notna()].copy()
    v["abs_lift"] = pd.cut(v["lift_true"].abs(), LIFT_BINS, labels=LIFT_LABELS)
    v["width"] = v["lift_high"] - v["lift_low"]
    v["abs_error"] = (v["lift_mean"] - v["lift_true"]).abs()
    out = v.groupby(["abs_lift", "model"], observed=True).agg(
        n_cells=("cover_lift", "size"),
        cover_lift=("cover_lift", "mean"),
        width=("width", "mean"),
        abs_error=("abs_error", "mean"),
    )
    return out.reset_index()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=6)
    p.add_argument("--n-min", type=int, default=100)
    p.add_argument("--n-max", type=int, default=800)
    p.add_argument("--draws", type=int, default=2000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-hierarchical", action="store_true")
    p.add_argument(
        "--lift-spread",
        type=float,
        default=None,
        help="replace the true lifts by log-odds lifts drawn from N(0, SPREAD)",
    )
    p.add_argument("--cells-out", default=None, help="also write the scored cells (Parquet)")
    args = p.parse_args()

    from workbench.experiments import analyze
    from workbench.experiments.hierarchical import DiagnosticsWarning, HierarchicalABTest
    from workbench.schema import load_world
    from workbench.synth import generate_world
    from workbench.truth import load_truth

    rng = np.random.default_rng(args.seed)
    small = (args.n_min + args.n_max) // 2
    cells, spreads, failed, t0 = [], [], 0, time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.replicates):
            path = generate_world("tiny", seed=args.seed + r, out=Path(tmp) / f"w{r}")
            exps = load_world(path, tables=["experiments"])["experiments"]
            effects = load_truth(path, tables=["truth_effects"])["truth_effects"]
            for _, e in exps.loc[exps["kind"] == "ab_test"].iterrows():
                truth = effects.loc[effects["experiment_id"] == e["experiment_id"]]
                table, t = simulate(
                    truth, rng, args.n_min, args.n_max, e["control_arm"], args.lift_spread
                )
                results = {"conjugate (unpooled)": analyze(table)}
                if not args.no_hierarchical:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DiagnosticsWarning)
                        model = HierarchicalABTest(
                            draws=args.draws, tune=args.tune, chains=args.chains, seed=r
                        ).fit(table)
                    failed += not model.diagnostics_.ok
                    spreads.append(_spread(model, t, e["control_arm"]))
                    results["hierarchical"] = model.result_
                for name, res in results.items():
                    sc = score(res, t, e["control_arm"], small)
                    cells.append(sc.assign(model=name, replicate=r, experiment=e["experiment_id"]))
            print(f"replicate {r + 1}/{args.replicates} done ({time.perf_counter() - t0:.0f} s)")
    cells = pd.concat(cells, ignore_index=True)
    if args.cells_out:
        cells.to_parquet(args.cells_out, index=False)
    table = summarise(cells)
    pd.set_option("display.width", 140)
    print(
        f"\nCalibration over {args.replicates} worlds, segments of {args.n_min}–{args.n_max} "
        f"recipients per arm ('small': an arm below {small}); 90 % intervals"
    )
    print(table.round(3).to_string(index=False))
    print("\nLift interval coverage by size of the true lift (variant cells)")
    print(coverage_by_lift(cells).round(3).to_string(index=False))
    if not args.no_hierarchical:
        sp = pd.DataFrame(spreads)
        print(
            "\nSpread of the true lifts across segments (sd of log-odds lifts) against the "
            "hierarchical model's σ_δ, mean over fits:\n"
            f"  true sd {sp['true_sd'].mean():.3f}; posterior σ_δ mean {sp['post_mean'].mean():.3f}"
            f", 90 % interval [{sp['post_low'].mean():.3f}, {sp['post_high'].mean():.3f}]; "
            f"true sd below the interval in {sp['below'].mean():.0%} of fits"
        )
        print(f"hierarchical fits with failed diagnostics: {failed}")


if __name__ == "__main__":
    main()
