"""The strategy lab: what each policy promises from the data, and what it truly earns.

:func:`run_lab` takes a generated world, decides each policy from the world's observed data
(segments and their playbook from the features at the end of the period; an uplift model fitted
on the world's randomised send test), writes down what the data says each policy will earn (its
*promise*), then replays every policy for ``weeks`` more weeks inside the world's true response
model (:mod:`workbench.synth.replay`: same subscribers, same seed, counterfactual sends), several
times, against a replay without any broadcast. A policy's *true* incremental conversions are its
difference from that baseline, with an interval over the replications.

Conversions are converters (subscribers with at least one order in the window, as the test's
outcome); revenue counts every expected order. The promises come from the randomised
segmented-vs-mass test: ``mass`` and ``random`` from its average treatment effect (mass arm
against the holdout), ``playbook`` from the segmented arm against the holdout, ``uplift`` from
the observed uplift among the model's top share on the test's held-out half; each is scaled
from the test's window to the lab's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.strategy.policies import (
    POLICIES,
    mass_plan,
    playbook_plan,
    random_plan,
    uplift_plan,
)
from workbench.synth.replay import OUTCOMES

#: Outcomes summed per policy: every outcome of a replay.
_SUMS = OUTCOMES


@dataclass
class LabResult:
    """What :func:`run_lab` found.

    Attributes
    ----------
    policies : DataFrame
        One row per policy: ``policy, targeted, broadcasts, incremental_conversions`` (and
        ``_low``/``_high``), ``incremental_revenue`` (and interval), ``incremental_orders``,
        ``unsubscribes``, ``complaints`` (more than without broadcasts, with intervals),
        ``fatigued_broadcasts``, ``conversions_per_1000``, ``promised_conversions`` (and
        interval), ``promised_revenue``, ``promise_error`` (promised minus true).
    segments : DataFrame
        The same per policy and observed segment (``segment, segment_name``).
    replications : DataFrame
        Totals of every replication and policy, the baseline ``none`` included.
    targeting : DataFrame
        Per observed segment: the playbook's cadence and content, and the uplift segments
        (shares of persuadables, sure things, lost causes, do-not-disturbs), the mean predicted
        uplift and the advice.
    uplift_test : dict
        The uplift model's held-out scores (:func:`workbench.uplift.metrics.evaluate`).
    settings : dict
        The run's parameters.
    """

    policies: pd.DataFrame
    segments: pd.DataFrame
    replications: pd.DataFrame
    targeting: pd.DataFrame
    uplift_test: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)


def _interval(x: pd.Series, level: float) -> tuple[float, float, float]:
    """Mean and t-interval of replications (a single replication: no interval)."""
    from scipy import stats

    v = x.to_numpy(dtype=float)
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return m, m - half, m + half


def _summarise(incr: pd.DataFrame, keys: list[str], level: float) -> pd.DataFrame:
    """Mean and interval over replications of each incremental outcome, per ``keys``."""
    rows = []
    for key, part in incr.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["broadcasts"] = float(part["broadcasts"].mean())
        for col, name in (
            ("conversions", "incremental_conversions"),
            ("revenue", "incremental_revenue"),
            ("orders", "incremental_orders"),
            ("unsubscribed", "unsubscribes"),
            ("complained", "complaints"),
        ):
            m, lo, hi = _interval(part[col], level)
            row[name], row[f"{name}_low"], row[f"{name}_high"] = m, lo, hi
        row["fatigued_broadcasts"] = float(part["fatigued"].mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    out["conversions_per_1000"] = (
        1000 * out["incremental_conversions"] / out["broadcasts"].where(out["broadcasts"] > 0)
    )
    return out


def run_lab(
    world: str | Path,
    policies: tuple[str, ...] | list[str] = POLICIES,
    *,
    weeks: int = 4,
    replications: int = 10,
    budget: float = 0.5,
    model: str = "x",
    interval: float = 0.9,
    seed: int = 0,
    k: int | str = "auto",
) -> LabResult:
    """Decide each policy from the observed data, then replay it in the world's truth.

    Parameters
    ----------
    world : path
        A generated world (real exports have no true response model to replay).
    policies : sequence of str
        Among :data:`~workbench.strategy.policies.POLICIES`.
    weeks : int, default 4
        Length of the replay.
    replications : int, default 10
        Replays of every policy (the intervals are over them).
    budget : float, default 0.5
        Share of the subscribers who can still be emailed (observed: not unsubscribed, not
        bounced, with consent) that the ``uplift`` and ``random`` policies send to.
    model : {"s", "t", "x", "dr"}, default "x"
        Uplift learner (:class:`workbench.uplift.learners.UpliftModel`).
    interval : float, default 0.9
        Probability of the intervals.
    seed : int, default 0
        Seed of the segmentation, the uplift model, the random policy and the replays.
    k : int or "auto"
        Number of segments of the playbook.

    Returns
    -------
    LabResult

    Raises
    ------
    WorkbenchError
        An unknown policy, a world without the randomised segmented-vs-mass test, or a world
        that is not a generated one (no truth to replay).
    DataError
        A table of the world breaks the contract.
    """
    from workbench.features import compute_features
    from workbench.synth.replay import WorldReplay

    bad = [p for p in policies if p not in POLICIES]
    if bad or not policies:
        raise WorkbenchError(f"unknown policy {bad}; choose among {', '.join(POLICIES)}")
    if not 0 < budget <= 1:
        raise WorkbenchError(f"budget must be in (0, 1], got {budget}")
    replay = WorldReplay(world)
    n = replay.n
    features = compute_features(world)
    seg = _segments(world, features, seed, k)
    reachable = features.index[features["email_reachable"].to_numpy() == 1]
    up = _uplift(world, features, model, seed, budget, len(reachable))
    plans = []
    for p in policies:
        if p == "mass":
            plans.append(mass_plan(n))
        elif p == "random":
            plans.append(random_plan(n, budget, seed, reachable))
        elif p == "uplift":
            plans.append(uplift_plan(up["scores"], n, budget, reachable))
        else:
            plans.append(playbook_plan(seg["segments"], seg["book"], n, replay.usual))
    codes = np.full(n, -1, np.int64)
    codes[seg["segments"].index.to_numpy(dtype=np.int64) - 1] = seg["segments"].to_numpy()
    totals, by_seg = [], []
    for r, name, out in replay.play(plans, days=7 * weeks, replications=replications, seed=seed):
        s = out[list(_SUMS)]
        totals.append({"replication": r, "policy": name, **s.sum().to_dict()})
        g = s.groupby(codes[out.index.to_numpy() - 1]).sum()
        g.index.name = "segment"
        by_seg.append(g.reset_index().assign(replication=r, policy=name))
    reps = pd.DataFrame(totals).groupby(["replication", "policy"], sort=False).sum().reset_index()
    segs = pd.concat(by_seg).groupby(["replication", "policy", "segment"], sort=False).sum()
    segs = segs.reset_index()
    table = _summarise(_minus_none(reps, ["replication"]), ["policy"], interval)
    seg_table = _summarise(
        _minus_none(segs, ["replication", "segment"]), ["policy", "segment"], interval
    )
    targeted = {p.name: int(p.send.sum()) for p in plans}
    table.insert(1, "targeted", table["policy"].map(targeted))
    promise = _promises(up, plans, weeks, interval)
    table = table.merge(promise, on="policy", how="left")
    table["promise_error"] = table["promised_conversions"] - table["incremental_conversions"]
    seg_sizes = seg["segments"].value_counts()
    seg_table.insert(2, "segment_name", seg_table["segment"].map(seg["names"]))
    seg_table.insert(3, "subscribers", seg_table["segment"].map(seg_sizes).fillna(0).astype(int))
    on = {
        (p.name, s): int(c)
        for p in plans
        for s, c in pd.Series(p.send[codes >= 0]).groupby(codes[codes >= 0]).sum().items()
    }
    seg_table.insert(
        4,
        "targeted",
        [on.get(k, 0) for k in zip(seg_table["policy"], seg_table["segment"], strict=True)],
    )
    targeting = _targeting(seg, up)
    settings = dict(
        world=str(world),
        policies=list(policies),
        weeks=int(weeks),
        replications=int(replications),
        budget=float(budget),
        model=model,
        interval=float(interval),
        seed=int(seed),
        subscribers=int(n),
    )
    return LabResult(table, seg_table, reps, targeting, up["evaluation"], settings)


def _minus_none(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Each policy's totals minus the baseline's of the same replication (and segment)."""
    base = frame[frame["policy"] == "none"].set_index(keys)[list(_SUMS)]
    rest = frame[frame["policy"] != "none"]
    out = rest.set_index(keys)[list(_SUMS)] - base.reindex(rest.set_index(keys).index).to_numpy()
    out["broadcasts"] = rest.set_index(keys)["broadcasts"]
    return out.reset_index().assign(policy=rest["policy"].to_numpy())


def _segments(world: str | Path, features: pd.DataFrame, seed: int, k: int | str) -> dict[str, Any]:
    """The observed segments, their names and their playbook (cadence from the data)."""
    from workbench.segment import segment_subscribers
    from workbench.segment.playbook import cadence_evidence, fatigue_cadence, playbook

    seg = segment_subscribers(features, k=k, seed=seed)
    curve, _ = cadence_evidence(world, seg.segments, as_of=features.attrs.get("as_of"))
    book = playbook(features, seg.segments, seg.names, fatigue_cadence(curve))
    return {"segments": seg.segments, "names": seg.names, "book": book}


def _uplift(
    world: str | Path, features: pd.DataFrame, model: str, seed: int, budget: float, n: int
) -> dict[str, Any]:
    """Fit the uplift model on half the randomised test; promises from the other half.

    The rows of both outcome tables are the experiment's assignments sorted by subscriber, so
    one split serves both. ``n`` is the number of reachable subscribers, of whom the uplift
    policy targets the budget's share.
    """
    from workbench.uplift.data import split_test, world_uplift_table
    from workbench.uplift.learners import UpliftModel
    from workbench.uplift.metrics import average_effect, evaluate
    from workbench.uplift.policy import expected_gain

    conv = world_uplift_table(world, treatment="mass", control="holdout")
    rev = world_uplift_table(world, treatment="mass", control="holdout", outcome="revenue")
    seg_conv = world_uplift_table(world, treatment="segmented", control="holdout")
    seg_rev = world_uplift_table(world, treatment="segmented", control="holdout", outcome="revenue")
    test = split_test(conv, test_size=0.5, seed=seed)  # the segmented arm is in neither half
    train = conv.compared & ~test
    fit = UpliftModel(learner=model, random_state=seed, oof=False)
    fit.fit(conv.X[train], conv.y[train], conv.treatment[train])
    y, t, score_test = conv.y[test], conv.treatment[test], fit.predict(conv.X[test])
    evaluation = evaluate(y, t, score_test)
    gain = expected_gain(y, t, score_test, budget, n, seed=seed)
    gain_rev = expected_gain(rev.y[test], t, score_test, budget, n, seed=seed)
    X_end = _like(features, conv.X)
    scores = pd.Series(fit.predict(X_end), index=X_end.index, name="uplift")
    mu0, mu1 = fit.predict_arms(X_end)
    return {
        "scores": scores,
        "mu0": pd.Series(mu0, index=X_end.index),
        "mu1": pd.Series(mu1, index=X_end.index),
        "evaluation": evaluation,
        "gain": gain,
        "gain_revenue": gain_rev,
        "ate": average_effect(conv.y, conv.treatment),
        "ate_revenue": average_effect(rev.y, rev.treatment),
        "ate_segmented": average_effect(seg_conv.y, seg_conv.treatment),
        "ate_segmented_revenue": average_effect(seg_rev.y, seg_rev.treatment),
        "window_days": float(conv.window_days or 7 * 4),
    }


def _like(features: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """The end-of-period features in the columns and types the model was fitted on."""
    out = features.reindex(columns=X.columns).copy()
    for c in X.columns:
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(out[c].astype("string"), categories=X[c].cat.categories)
        else:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def _promises(up: dict[str, Any], plans: list, weeks: int, level: float) -> pd.DataFrame:
    """What the observed data says each policy earns over the lab's window."""
    from scipy import stats

    z = stats.norm.ppf(0.5 + level / 2)
    scale = 7 * weeks / up["window_days"]
    rows = []
    for p in plans:
        k = int(p.send.sum())
        if p.name == "uplift":
            g, gr = up["gain"], up["gain_revenue"]
            conv, lo, hi = g["incremental"], g["low"], g["high"]
            rev = gr["incremental"]
        else:
            key = "ate_segmented" if p.name == "playbook" else "ate"
            (ate, se), (ate_r, _) = up[key], up[f"{key}_revenue"]
            conv, lo, hi = k * ate, k * (ate - z * se), k * (ate + z * se)
            rev = k * ate_r
        rows.append(
            {
                "policy": p.name,
                "promised_conversions": conv * scale,
                "promised_conversions_low": lo * scale,
                "promised_conversions_high": hi * scale,
                "promised_revenue": rev * scale,
            }
        )
    return pd.DataFrame(rows)


def _targeting(seg: dict[str, Any], up: dict[str, Any]) -> pd.DataFrame:
    """Per observed segment: playbook cadence and content beside its uplift segments."""
    from workbench.uplift.segments import uplift_segments

    kinds = pd.Series(
        uplift_segments(up["mu0"].to_numpy(), up["mu1"].to_numpy()), index=up["mu0"].index
    )
    segments = seg["segments"].reindex(kinds.index)
    shares = pd.crosstab(segments, kinds, normalize="index")
    shares.columns = [f"share_{str(c).replace(' ', '_')}" for c in shares.columns]
    book = seg["book"].set_index("segment")[
        ["name", "subscribers", "max_emails_per_week", "content"]
    ]
    out = book.join(shares)
    out["mean_uplift"] = up["scores"].groupby(segments).mean()
    pers = out.get("share_persuadable", pd.Series(0.0, index=out.index))
    dnd = out.get("share_do_not_disturb", pd.Series(0.0, index=out.index))
    out["advice"] = np.select(
        [dnd >= 0.3, pers >= 0.5, pers >= 0.2],
        [
            "hold back: many would be put off",
            "send: most are moved by email",
            "send to the persuadables only",
        ],
        "spend little: email changes little here",
    )
    return out.reset_index()
