"""What each channel causes: incremental conversions from channel holdouts, with Bayesian intervals.

A *channel holdout* withholds one channel from a random share of the list for a period. The
difference between the exposed and the held-out subscribers is what the channel caused, which
attribution (credit) cannot tell. Two sources give one results table (:data:`COLUMNS`):

* :func:`world_incrementality`: the ``channel_holdout`` experiments of a world (generated or
  imported with ``experiments`` and ``assignments``). Per channel (and per segment), the outcome is
  each participant's number of conversions (orders) in the holdout's window. Only subscribers who
  could receive the channel count (its consent flag: :data:`ELIGIBILITY`): the others add noise,
  not signal. The difference of the arms' means is adjusted for what each participant did before
  the holdout began (orders and days on the list before the start; Lin's 2013 regression
  adjustment, the idea of CUPED, with HC2 standard errors), which removes chance imbalance
  between the arms. With a flat prior the posterior of the difference is then normal around the
  adjusted estimate (the large-sample Bayesian answer; the per-arm samples are in the thousands).
* :func:`file_incrementality`: holdout tests run elsewhere, in the interchange layout ``channel,
  arm, n, conversions[, revenue]`` (:func:`read_holdouts`): an experiment results table whose
  segments are channels and whose control is the ``holdout`` arm. It goes through the Bayesian
  test engine of :mod:`workbench.experiments`: exact Beta–Binomial posteriors of each arm's
  conversion rate (Beta × Gamma for revenue), and :func:`workbench.experiments.incremental`.

Every row carries the test's *power* to detect a relative lift of ``target_lift`` (the interval
excluding zero) and its *minimum detectable lift* at 80% power, both from the test's own
standard error, so a reader sees when a channel's test is too small to say anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import DataError, WorkbenchError

#: The consent flag (a ``subscribers`` column) that lets a channel reach a subscriber. In-app
#: messages reach app users, whom the contract knows by their push consent; paid retargeting
#: and email without a consent flag reach everybody.
ELIGIBILITY: dict[str, str] = {
    "email": "email_consent",
    "sms": "sms_consent",
    "push": "push_consent",
    "in_app": "push_consent",
}
#: The name of the held-out arm.
HOLDOUT_ARM = "holdout"
#: Power the minimum detectable lift is computed for.
MDE_POWER = 0.8
#: The columns of every incrementality table (``segment`` only when asked for; revenue columns
#: only with revenue).
COLUMNS = (
    "channel",
    "segment",
    "experiment_id",
    "start",
    "days",
    "n_exposed",
    "n_holdout",
    "rate_exposed",
    "rate_holdout",
    "incremental_conversions",
    "incremental_conversions_low",
    "incremental_conversions_high",
    "incremental_conversions_sd",
    "prob_positive",
    "relative_lift",
    "relative_lift_low",
    "relative_lift_high",
    "relative_lift_sd",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "power",
    "mde_lift",
    "exposure_share",
    "method",
)


def holdout_power(se_rel: np.ndarray, target_lift: float, interval: float) -> tuple[Any, Any]:
    """Power to detect ``target_lift`` and the lift detected with :data:`MDE_POWER`.

    Shared by the channel holdouts and the flow holdouts (:mod:`workbench.flows.holdout`).

    Parameters
    ----------
    se_rel : ndarray
        Standard error of each test's relative lift.
    target_lift : float
        The relative lift the power is computed for.
    interval : float
        Width of the two-sided interval that must clear zero (e.g. 0.9).

    Returns
    -------
    power, mde : ndarray
        The chance the interval clears zero when the true lift is ``target_lift``, and the
        smallest lift detected with probability :data:`MDE_POWER`.
    """
    z = stats.norm.ppf(0.5 + interval / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = target_lift / se_rel
        power = stats.norm.cdf(d - z) + stats.norm.cdf(-d - z)
    return power, (z + stats.norm.ppf(MDE_POWER)) * se_rel


def interval_columns(
    name: str, estimate: float, se: float, z: float, scale: float = 1.0
) -> dict[str, float]:
    """``name``, ``name_low`` and ``name_high``: a normal interval of ``estimate`` × ``scale``.

    Parameters
    ----------
    name : str
        The column's name.
    estimate, se : float
        The estimate and its standard error.
    z : float
        The normal quantile of the interval (1.645 for 90%).
    scale : float, default 1.0
        What the estimate is multiplied by (participants, for totals).

    Returns
    -------
    dict
    """
    return {
        name: estimate * scale,
        f"{name}_low": (estimate - z * se) * scale,
        f"{name}_high": (estimate + z * se) * scale,
    }


def adjusted_difference(
    y: np.ndarray, treated: np.ndarray, x: np.ndarray | None
) -> tuple[float, float]:
    """Difference of means treated − control, regression-adjusted for ``x``, and its SE.

    Lin's (2013) estimator: least squares of ``y`` on the treatment, the centred covariates and
    their interactions, with the HC2 heteroskedasticity-consistent standard error. Without
    covariates it is the plain difference of means with Welch's standard error. Shared by the
    channel holdouts and the flow holdouts.

    Parameters
    ----------
    y : ndarray
        Outcome per participant.
    treated : ndarray of bool
        True for the exposed arm.
    x : ndarray or None
        Covariates measured before the test (participants x covariates).

    Returns
    -------
    estimate, se : float
    """
    t = treated.astype(float)
    cols = [np.ones_like(t), t]
    if x is not None and x.shape[1]:
        xc = x - x.mean(axis=0)
        keep = xc.std(axis=0) > 0
        xc = xc[:, keep]
        cols += [xc, t[:, None] * xc]
    z = np.column_stack(cols)
    zz = np.linalg.pinv(z.T @ z)
    beta = zz @ (z.T @ y)
    e = y - z @ beta
    lev = np.einsum("ij,jk,ik->i", z, zz, z)
    meat = (z * (e**2 / np.clip(1 - lev, 1e-12, None))[:, None]).T @ z
    cov = zz @ meat @ zz
    return float(beta[1]), float(np.sqrt(max(cov[1, 1], 0.0)))


def segment_map(world: Any, segments: str | Mapping[Any, Any] | pd.Series | None) -> pd.Series:
    """``subscriber_id -> segment`` as text (everybody in ``"all"`` when ``segments`` is None).

    Parameters
    ----------
    world : World or mapping
        Anything with a ``subscribers`` table.
    segments : str, mapping, Series or None
        A column of ``subscribers``, or a mapping / Series ``subscriber_id -> segment``
        (subscribers without one get ``"(none)"``).

    Returns
    -------
    Series
        Indexed by ``subscriber_id``.

    Raises
    ------
    DataError
        ``segments`` names a column the subscribers table does not have.
    """
    subs = world["subscribers"]
    ids = subs["subscriber_id"]
    if segments is None:
        return pd.Series("all", index=ids.to_numpy(), dtype="str")
    if isinstance(segments, str):
        if segments not in subs.columns:
            raise DataError("subscribers", segments, "no such segment column")
        return pd.Series(subs[segments].astype("str").to_numpy(), index=ids.to_numpy())
    mapped = ids.map(pd.Series(segments))
    return pd.Series(mapped.fillna("(none)").astype("str").to_numpy(), index=ids.to_numpy())


def world_incrementality(
    world: Any,
    *,
    segments: str | Mapping[Any, Any] | pd.Series | None = None,
    min_segment_size: int = 200,
    eligible_only: bool = True,
    adjust: bool = True,
    interval: float = 0.9,
    target_lift: float = 0.05,
) -> pd.DataFrame:
    """Incremental conversions and revenue of each channel from a world's channel holdouts.

    Parameters
    ----------
    world : World or path
        A loaded world (:func:`workbench.schema.load_world`) or its folder, with ``subscribers``,
        ``experiments``, ``assignments``, ``orders`` and ``touchpoints``.
    segments : str, mapping or Series, optional
        Also measure within segments: a ``subscribers`` column or ``subscriber_id -> segment``.
    min_segment_size : int, default 200
        Segments with fewer held-out subscribers are left out (their test says nothing).
    eligible_only : bool, default True
        Count only the participants the channel can reach (:data:`ELIGIBILITY`).
    adjust : bool, default True
        Regression-adjust for the orders and the days on the list before the holdout began.
    interval : float, default 0.9
        Probability of the equal-tailed intervals.
    target_lift : float, default 0.05
        The relative lift the ``power`` column refers to.

    Returns
    -------
    DataFrame
        :data:`COLUMNS` (``segment`` only with ``segments``), one row per holdout experiment
        (and segment). ``incremental_*`` are conversions (orders) and revenue the channel
        caused among the exposed participants during the window; ``rate_*`` are conversions per
        participant; ``exposure_share`` is the share of all the channel's touches in the data
        that went to those participants in that window (what the measured effect stands for).
        Empty when the world has no channel holdout.
    """
    if not 0 < interval < 1:
        raise WorkbenchError(f"interval must be in (0, 1), got {interval}")
    if isinstance(world, str | Path):
        from workbench.schema import load_world

        world = load_world(world, tables=["experiments", "assignments", "orders", "touchpoints"])
    ex = world["experiments"]
    ex = ex[ex["kind"] == "channel_holdout"]
    keep = [c for c in COLUMNS if c != "segment" or segments is not None]
    if ex.empty:
        return pd.DataFrame(columns=keep)
    from workbench.attribution.holdout import _channel_of

    ex = ex.assign(channel=_channel_of(ex).to_numpy())
    subs = world["subscribers"].set_index("subscriber_id")
    orders = world["orders"][["subscriber_id", "ts", "revenue"]]
    tp = world["touchpoints"][["subscriber_id", "ts", "channel"]]
    seg_of = segment_map(world, segments)
    z = stats.norm.ppf(0.5 + interval / 2)
    firsts = [t for t in (orders["ts"].min(), tp["ts"].min()) if pd.notna(t)]
    rows = []
    for e in ex.itertuples(index=False):
        asg = world["assignments"]
        a = asg[asg["experiment_id"] == e.experiment_id]
        flag = ELIGIBILITY.get(str(e.channel)) if eligible_only else None
        known = flag is not None and flag in subs.columns
        if known:
            reach = subs[flag].reindex(a["subscriber_id"]).fillna(False).to_numpy(dtype=bool)
            # a flag nobody has is unknown (an export without it reads as False), not "no one"
            known = bool(reach.any())
            a = a[reach] if known else a
        if len(a) == 0:
            continue
        t0 = e.start_ts
        t1 = t0 + pd.Timedelta(days=int(e.conversion_window_days))
        inside = orders[(orders["ts"] >= t0) & (orders["ts"] < t1)].groupby("subscriber_id")
        before = orders[orders["ts"] < t0].groupby("subscriber_id")
        sid = a["subscriber_id"]
        y = sid.map(inside.size()).fillna(0).to_numpy(float)
        rev = sid.map(inside["revenue"].sum()).fillna(0.0).to_numpy(float)
        held = a["is_holdout"].to_numpy(dtype=bool)
        x = None
        if adjust:
            # days on the list before the start (an unknown signup: from the data's start)
            data_start = min([*firsts, t0])
            joined = pd.to_datetime(sid.map(subs["signup_ts"]), utc=True)
            joined = joined.where(joined > data_start, data_start)
            pre_days = (t0 - joined).dt.total_seconds().to_numpy(float) / 86400
            x = np.column_stack(
                [
                    sid.map(before.size()).fillna(0).to_numpy(float),
                    sid.map(before["revenue"].sum()).fillna(0.0).to_numpy(float),
                    np.clip(pre_days, 0, None),
                ]
            )
        ch_touch = tp[tp["channel"] == e.channel]
        ch_touch_in = (ch_touch["ts"] >= t0) & (ch_touch["ts"] < t1)
        seg = seg_of.reindex(sid).to_numpy()
        for s in sorted(pd.unique(seg)) if segments is not None else [None]:
            m = np.ones(len(a), bool) if s is None else seg == s
            n1, n0 = int((m & ~held).sum()), int((m & held).sum())
            if n1 < 2 or n0 < 2 or (s is not None and n0 < min_segment_size):
                continue
            xs = None if x is None else x[m]
            b, se = adjusted_difference(y[m], ~held[m], xs)
            br, ser = adjusted_difference(rev[m], ~held[m], xs)
            m0 = float(y[m & held].mean())
            exposed = set(sid[m & ~held])
            share = float((ch_touch_in & ch_touch["subscriber_id"].isin(exposed)).sum()) / max(
                len(ch_touch), 1
            )
            rel = b / m0 if m0 > 0 else np.nan
            rel_sd = se / m0 if m0 > 0 else np.nan
            power, mde = holdout_power(np.asarray(rel_sd), target_lift, interval)
            row = {
                "channel": str(e.channel),
                "segment": s,
                "experiment_id": int(e.experiment_id),
                "start": t0,
                "days": int(e.conversion_window_days),
                "n_exposed": n1,
                "n_holdout": n0,
                "rate_exposed": float(y[m & ~held].mean()),
                "rate_holdout": m0,
                **interval_columns("incremental_conversions", b, se, z, n1),
                "incremental_conversions_sd": se * n1,
                "prob_positive": float(stats.norm.cdf(b / se)) if se > 0 else float(b > 0),
                **interval_columns("relative_lift", rel, rel_sd, z),
                "relative_lift_sd": rel_sd,
                **interval_columns("incremental_revenue", br, ser, z, n1),
                "power": float(power),
                "mde_lift": float(mde),
                "exposure_share": share,
                "method": ("regression-adjusted" if adjust else "difference of means")
                + ("" if known or flag is None else f", everyone ({flag} unknown)"),
            }
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    return out[keep].reset_index(drop=True)


def validate_holdouts(
    df: pd.DataFrame, source: str = "<holdouts>", *, holdout_arm: str = HOLDOUT_ARM
) -> pd.DataFrame:
    """Check a holdouts table ``channel, arm, n, conversions[, revenue]``; the results table.

    Each channel has two arms: ``holdout_arm`` and the exposed arm (any other name). The checks
    are those of every experiment results table (:func:`workbench.experiments.from_aggregated`:
    missing columns, counts that are not whole, negative or NaN, conversions above ``n``,
    revenue without conversions, repeated rows), each a :class:`~workbench.errors.DataError`
    naming the file, the column and the first offending rows.

    Returns
    -------
    DataFrame
        The experiment results table with ``segment`` holding the channel and ``control`` the
        held-out arm (``attrs["control"]``).
    """
    from workbench.experiments.inputs import _first_rows, _require, from_aggregated

    _require(df, "channel", source)
    table = from_aggregated(
        df, segment_col="channel", control=holdout_arm, source=source, revenue_col=None
    )
    arms = table.groupby("segment")["arm"].transform("size").to_numpy()
    many = arms > 2
    if many.any():
        k, ex = _first_rows(many, table, ["segment", "arm"])
        raise DataError(
            source, "arm", f"more than two arms for a channel (one is '{holdout_arm}')", k, ex
        )
    return table


def read_holdouts(path: str | Path, *, holdout_arm: str = HOLDOUT_ARM) -> pd.DataFrame:
    """Read a holdouts file (CSV or Parquet) and check it (:func:`validate_holdouts`)."""
    from workbench.experiments.inputs import read_file

    return validate_holdouts(read_file(path), str(path), holdout_arm=holdout_arm)


def file_incrementality(
    holdouts: pd.DataFrame,
    *,
    interval: float = 0.9,
    target_lift: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
    n_draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Incremental conversions and revenue of each channel from a holdouts table.

    Parameters
    ----------
    holdouts : DataFrame
        ``channel, arm, n, conversions[, revenue]`` (checked by :func:`validate_holdouts`), or
        its results table.
    interval : float, default 0.9
        Probability of the intervals (highest density for increments, as the test engine).
    target_lift : float, default 0.05
        The relative lift the ``power`` column refers to.
    prior : tuple of float, default (1, 1)
        Beta prior of each arm's conversion rate.
    n_draws : int, default 4000
        Posterior draws.
    seed : int, default 0

    Returns
    -------
    DataFrame
        :data:`COLUMNS` without ``segment``; ``experiment_id``, ``start``, ``days`` and
        ``exposure_share`` are empty (the file does not say).
    """
    from workbench.experiments import incremental
    from workbench.experiments._summary import layout
    from workbench.experiments.checks import _posterior_draws

    table = holdouts if "segment" in holdouts.columns else validate_holdouts(holdouts)
    control = table.attrs.get("control", HOLDOUT_ARM)
    rows = []
    for ch, g in table.groupby("segment", sort=True):
        g = g.reset_index(drop=True)
        g.attrs["control"] = control
        inc = incremental(g, control, hdi=interval, prior=prior, n_draws=n_draws, seed=seed)
        r = inc.iloc[0]
        exp_row = g[g["arm"] != control].iloc[0]
        hold_row = g[g["arm"] == control].iloc[0]
        n1, c1 = float(exp_row["n"]), float(exp_row["conversions"])
        n0, c0 = float(hold_row["n"]), float(hold_row["conversions"])
        # the engine's own posterior draws (the same seed: the draws behind `inc`)
        lay = layout(g, control)
        p = _posterior_draws(g, lay, prior, n_draws, np.random.default_rng(seed))["conversions"]
        p1 = p[0, 1 - lay.control[0]]
        p0 = p[0, lay.control[0]]
        rel = p1 / p0 - 1
        lo, hi = np.quantile(rel, [0.5 - interval / 2, 0.5 + interval / 2])
        diff_sd = float(np.std(p1 - p0, ddof=1))
        rel_sd = diff_sd / (c0 / n0) if c0 > 0 else np.nan
        power, mde = holdout_power(np.asarray(rel_sd), target_lift, interval)
        row = {
            "channel": str(ch),
            "n_exposed": int(n1),
            "n_holdout": int(n0),
            "rate_exposed": c1 / n1,
            "rate_holdout": c0 / n0,
            "incremental_conversions": float(r["incremental_conversions"]),
            "incremental_conversions_low": float(r["incremental_conversions_low"]),
            "incremental_conversions_high": float(r["incremental_conversions_high"]),
            "incremental_conversions_sd": diff_sd * n1,
            "prob_positive": float(r["prob_positive"]),
            "relative_lift": float(np.median(rel)),
            "relative_lift_low": float(lo),
            "relative_lift_high": float(hi),
            "relative_lift_sd": float(np.std(rel, ddof=1)),
            "power": float(power),
            "mde_lift": float(mde),
            "method": "Beta-Binomial",
        }
        if "incremental_revenue" in inc.columns:
            row["incremental_revenue"] = float(r["incremental_revenue"])
            row["incremental_revenue_low"] = float(r["incremental_revenue_low"])
            row["incremental_revenue_high"] = float(r["incremental_revenue_high"])
        rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "segment"])
    return out.reset_index(drop=True)
