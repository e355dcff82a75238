"""Digest of what every capability computes, for checking that a refactor changes no behaviour.

Run it before and after a change and compare the two outputs (``diff``): every line is a table
digest (SHA-256 of its CSV text at full float precision) or a headline figure, from the same
worlds, seeds and commands. Used for the architecture issue's "behaviour and figures unchanged".

    .venv/bin/python scripts/behaviour_snapshot.py --work /tmp/snap-before > before.txt

The hierarchical PyMC fit is included; its draws are reproducible on one machine for one seed,
not across machines (compiled arithmetic differs), so compare snapshots from the same machine.
Within one machine, too, the first run after the model's graph is compiled into an empty PyTensor
cache differs from the runs that load it from the cache (PyTensor's ``numba__cache``: ulp-level
differences in the compiled code, which NUTS turns into different draws; measured here: prob_best
moves by up to 0.08 at 300 draws; ``PYTENSOR_FLAGS=numba__cache=False`` makes every run equal to
the cold one, at about 18 s more per fit; the same upstream behaviour is described in
pymc-labs/CausalPy#1139). Compare warm runs: run the script twice and keep the second output.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

WB = str(Path(sys.executable).with_name("workbench"))


def digest(df: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of a frame's CSV text, floats at 17 significant digits."""
    text = df.to_csv(index=True, float_format="%.17g")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def show(name: str, df: pd.DataFrame) -> None:
    print(f"{name}: {digest(df)} shape={df.shape}", flush=True)


def run(*args: str) -> None:
    subprocess.run([WB, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (created)")
    ap.add_argument("--skip-report", action="store_true")
    args = ap.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)

    from workbench.schema import load_world

    # 1. worlds
    worlds = {"tiny": ("tiny", "3", "0"), "default": ("default", "11", "4000")}
    for name, (scenario, seed, n) in worlds.items():
        out = work / f"world-{name}"
        cmd = ["generate", "--scenario", scenario, "--seed", seed, "--out", str(out), "--overwrite"]
        if n != "0":
            cmd += ["--subscribers", n]
        run(*cmd)
        w = load_world(out)
        for t in sorted(w.tables):
            df = w[t]
            show(f"world {name} {t}", df.reset_index(drop=True))
    wdef = work / "world-default"

    # 2. features
    from workbench.features import compute_features

    for name in worlds:
        show(f"features {name}", compute_features(work / f"world-{name}"))

    # 3. segmentation (CLI and API)
    for method, k in [
        ("deconvolved", "auto"),
        ("deconvolved", "6"),
        ("kmeans", "auto"),
        ("gmm", "6"),
        ("agglomerative", "6"),
        ("hdbscan", "auto"),
    ]:
        out = work / f"seg-{method}-{k}.csv"
        run(
            "segment",
            "--world",
            str(wdef),
            "--method",
            method,
            "--k",
            k,
            "--out",
            str(out),
            "--overwrite",
            "--sample-size",
            "3000",
        )
        seg = pd.read_csv(out)
        print(f"segment {method} k={k}: {digest(seg)} segments={seg['segment'].nunique()}")
    from sklearn.metrics import adjusted_rand_score

    from workbench.segment import segment_subscribers
    from workbench.segment.playbook import playbook
    from workbench.truth import load_truth

    feats = compute_features(wdef)
    s = segment_subscribers(feats, seed=0, sample_size=3000)
    show("segment_subscribers default", s.table())
    truth = load_truth(wdef)
    persona = truth["truth_subscribers"].set_index("subscriber_id")["persona"]
    ari = adjusted_rand_score(persona.loc[s.segments.index], s.segments)
    print(f"segment_subscribers k={s.segments.nunique()} ARI={ari:.6f}")
    show("playbook", playbook(feats, s.segments, s.names))
    segment_extras(wdef, feats, s.segments)
    show("segment_subscribers default selection", s.selection)
    from workbench.segment import select_k

    for method in ("gmm", "kmeans"):
        show(f"select_k {method}", select_k(feats, method=method, seed=2))
    r = segment_subscribers(feats, k=6, seed=3, sample_size=3000, unreachable="rule")
    show("segment_subscribers rule k=6", r.table())

    # 4. experiments
    from workbench.experiments import inputs

    table = inputs.from_world(wdef, segments="region", min_segment_size=30)
    show("experiment table", table)
    table.to_csv(work / "exp.csv", index=False)
    ctrl = table.attrs["control"]
    for model, metric, extra in [
        ("conjugate", "conversion", []),
        ("conjugate", "revenue", []),
        ("hierarchical", "conversion", ["--draws", "300", "--tune", "300", "--chains", "2"]),
    ]:
        out = work / f"ab-{model}-{metric}.csv"
        run(
            "abtest",
            "--input",
            str(work / "exp.csv"),
            "--control",
            ctrl,
            "--model",
            model,
            "--metric",
            metric,
            "--out",
            str(out),
            "--overwrite",
            "--allow-bad-diagnostics",
            "--seed",
            "1",
            *extra,
        )
        res = pd.read_csv(out)
        print(
            f"abtest {model} {metric}: {digest(res)} decisions={sorted(res['decision'].dropna())}"
        )

    _experiments_api(wdef, table)

    # 5. attribution
    from workbench.attribution import journeys_from_world, scorecard

    j = journeys_from_world(wdef)
    paths = j.to_paths()
    show("paths", paths)
    paths.to_csv(work / "paths.csv", index=False)
    for model in ["first", "last", "linear", "time_decay", "position", "markov", "shapley"]:
        out = work / f"attr-{model}.csv"
        run(
            "attribute",
            "--paths",
            str(work / "paths.csv"),
            "--model",
            model,
            "--out",
            str(out),
            "--overwrite",
        )
        show(f"attribute {model}", pd.read_csv(out))
    from workbench.attribution import compare_models

    res = compare_models(j)
    show("compare_models", res)
    show("attribution scorecard", scorecard(res, truth["truth_channels"]))
    attribution_details(wdef)

    # 6. report
    if not args.skip_report:
        rep = work / "report"
        shutil.rmtree(rep, ignore_errors=True)
        run("report", "--world", "datasets/sample", "--out", str(rep), "--no-progress")
        import json

        for m in sorted(rep.glob("*/manifest.json")):
            man = json.loads(m.read_text())
            for nb, heads in sorted(man.get("headlines", {}).items()):
                for key in sorted(heads):
                    print(f"report {nb} {key}: {heads[key].get('value')}")


def segment_extras(world: Path, feats: pd.DataFrame, segments: pd.Series) -> None:
    """What the segment module reads from DuckDB beside the features: cadence, outcomes."""
    from workbench.features import compute_features
    from workbench.segment.playbook import cadence_curve, cadence_test_curve, fatigue_cadence
    from workbench.segment.profiles import attribute_profile, name_segments, outcomes, profile

    show("features default as_of 2025-03-15", compute_features(world, as_of="2025-03-15"))
    curve = cadence_curve(world, segments)
    show("cadence_curve", curve)
    test = cadence_test_curve(world, segments)
    show("cadence_test_curve", test)
    show("fatigue_cadence", fatigue_cadence(test if len(test) else curve).to_frame())
    show("outcomes", outcomes(world, segments))
    show("outcomes 2025-02-01..2025-04-01", outcomes(world, segments, "2025-02-01", "2025-04-01"))
    show("profile", profile(feats, segments))
    show("attribute_profile", attribute_profile(feats, segments))
    print(f"name_segments: {sorted(name_segments(feats, segments).items())}")


def _experiments_api(world: Path, table: pd.DataFrame) -> None:
    """The experiment analyses the CLI does not reach: PyMC variants, checks, simulation."""
    import warnings

    from workbench.experiments import (
        FactorialLogisticModel,
        HierarchicalABTest,
        expected_chance_winners,
        from_world,
        incremental,
        simulate_monitoring,
        srm_test,
    )
    from workbench.schema import load_world

    small = dict(draws=200, tune=200, chains=2, seed=3, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, kw in [
            ("hierarchical revenue", dict(metric="revenue")),
            ("unpooled", dict(pooling="none")),
            ("centred baseline", dict(baseline="centred", lift="auto")),
        ]:
            model = HierarchicalABTest(**kw, **small).fit(table)
            show(f"experiments {name}", model.result_)
            show(f"experiments {name} ppc", model.posterior_predictive(seed=1))
        w = load_world(world)
        exps = w["experiments"].set_index("experiment_id")
        fid = int(exps.index[exps["kind"] == "factorial"][0])
        fac = FactorialLogisticModel(**small).fit(from_world(w, fid, "region"))
        show("experiments factorial", fac.effects_)
        hid = int(exps.index[exps["kind"] == "segmentation_holdout"][0])
        show("experiments incremental", incremental(from_world(w, hid, "region"), seed=2))
    show("experiments srm", srm_test(table))
    print(f"experiments chance winners: {expected_chance_winners(table, n_sim=50, seed=4)}")
    show("experiments monitoring", simulate_monitoring(n_sim=100, n_looks=8, seed=5))


def attribution_details(wdef: Path) -> None:
    """Attribution beyond the CLI: journeys options, simulation, notebook inputs, per segment."""
    from workbench.attribution import attribute, compare_models, journeys_from_world
    from workbench.attribution.simulate import simulate_paths
    from workbench.attribution.workflow import load_inputs

    sim = simulate_paths(5_000, ("a", "b", "c", "d"), seed=3, concentration=0.7)
    show("simulate_paths", sim)
    show("attribute markov3 simulated", attribute(sim, "markov", order=3))
    show("attribute shapley sampling", attribute(sim, "shapley", shapley_method="sampling",
                                                 n_permutations=50, seed=5))  # fmt: skip
    for kw in [
        {"collapse_repeats": True, "lookback_days": 10.0},
        {"interactions": ["click"], "min_revenue": 20.0, "segment": "region"},
    ]:
        j = journeys_from_world(wdef, **kw)
        show(f"journeys {sorted(kw)}", j.journeys)
        show(f"touches {sorted(kw)}", j.touches)
        print(f"untouched {sorted(kw)}: {j.untouched_conversions} {j.untouched_value:.17g}")
        show(f"paths by segment {sorted(kw)}", j.to_paths(by_segment=True))
    inp = load_inputs("", "", lookback_days=30.0, segment_col="acquisition_source")
    show("notebook inputs paths", inp.paths)
    show("notebook holdouts", inp.holdouts)
    kw2 = {"order": 2, "half_life": 7.0, "seed": 20261126}
    show("notebook compare_models", compare_models(inp.data, list(MODELS_ALL), **kw2))
    show("notebook per segment", attribute(inp.data, "markov", by=inp.by, **kw2))
    seg_paths = inp.paths
    cols = ["total_conversions", "total_conversion_value", "total_null"]
    overall = seg_paths.groupby("path", as_index=False)[cols].sum()  # notebook 04, by hand
    show("notebook overall paths", overall)
    show("paths-table per segment", compare_models(seg_paths, ["linear", "markov2"], by="segment"))


MODELS_ALL = ("first", "last", "last_non_direct", "linear", "position", "time_decay", "markov",
              "shapley")  # fmt: skip


if __name__ == "__main__":
    main()
