"""Sanity checks and designs around a test: sample-ratio mismatch, chance winners, holdouts,
sequential monitoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.experiments._summary import Layout, layout
from workbench.experiments.inputs import control_arm, sort_cells


def srm_test(
    table: pd.DataFrame,
    expected: Sequence[float] | dict[str, float] | None = None,
    *,
    alpha: float = 0.001,
) -> pd.DataFrame:
    """Sample-ratio mismatch: chi-square test of the recipients per arm against the plan.

    A mismatch (the assignment did not split recipients as planned) invalidates the comparison
    whatever the conversions say; the conventional alarm level is ``p < 0.001``.

    Parameters
    ----------
    table : DataFrame
        Results table (:mod:`workbench.experiments.inputs`).
    expected : sequence or dict of float, optional
        Planned share of each arm (in sorted arm order, or by name); default equal shares.
    alpha : float, default 0.001
        Level below which ``srm`` is flagged.

    Returns
    -------
    DataFrame
        One row per segment plus a first row ``segment = "(all)"`` for the whole experiment:
        ``segment, n, chi2, dof, p_value, srm``.
    """
    arms = sorted(table["arm"].unique())
    if expected is None:
        share = pd.Series(1.0, index=arms)
    elif isinstance(expected, dict):
        missing = set(arms) - set(expected)
        if missing:
            raise WorkbenchError(f"expected shares missing for arms {sorted(missing)}")
        share = pd.Series(expected, dtype=float).reindex(arms)
    else:
        if len(expected) != len(arms):
            raise WorkbenchError(f"{len(expected)} expected shares for {len(arms)} arms {arms}")
        share = pd.Series(list(expected), index=arms, dtype=float)
    if (share <= 0).any():
        raise WorkbenchError("expected shares must be positive")
    counts = table.pivot_table(index="segment", columns="arm", values="n", aggfunc="sum")
    counts = counts.reindex(columns=arms)
    total = counts.sum(axis=0).to_frame("(all)").T
    counts = pd.concat([total, counts])
    present = counts.notna().to_numpy()
    obs = counts.fillna(0.0).to_numpy(float)
    w = np.where(present, share.to_numpy()[None, :], 0.0)
    w = w / w.sum(axis=1, keepdims=True)
    n = obs.sum(axis=1)
    exp = w * n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(present, (obs - exp) ** 2 / exp, 0.0).sum(axis=1)
    dof = present.sum(axis=1) - 1
    p = stats.chi2.sf(chi2, dof)
    return pd.DataFrame(
        {
            "segment": counts.index.astype(str),
            "n": n.astype("int64"),
            "chi2": chi2,
            "dof": dof,
            "p_value": p,
            "srm": p < alpha,
        }
    ).reset_index(drop=True)


@dataclass(frozen=True)
class ChanceWinners:
    """How many segment "winners" chance alone would produce.

    Attributes
    ----------
    comparisons : int
        Variant-vs-control comparisons made (segments × variants).
    observed : int
        Variants with ``prob_beat_control`` above the threshold in the data.
    expected : float
        Mean number of such winners when no arm differs from control in any segment
        (simulated from each segment's pooled rate).
    interval : tuple of float
        Central 90 % range of that count under no effect.
    approx : float
        ``comparisons × (1 − threshold)``: the rule of thumb (posterior probabilities are
        close to uniform under no effect).
    threshold : float
    """

    comparisons: int
    observed: int
    expected: float
    interval: tuple[float, float]
    approx: float
    threshold: float

    def __str__(self) -> str:
        return (
            f"{self.observed} of {self.comparisons} variant×segment comparisons have "
            f"P(beat control) > {self.threshold:g}; chance alone gives {self.expected:.1f} "
            f"(90 % range {self.interval[0]:g}–{self.interval[1]:g})"
        )


def expected_chance_winners(
    table: pd.DataFrame,
    threshold: float = 0.95,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    n_sim: int = 100,
    seed: int = 0,
    control: str | None = None,
) -> ChanceWinners:
    """Expected number of "winning" variants across segments if no variant had any effect.

    Parameters
    ----------
    table : DataFrame
        Results table.
    threshold : float, default 0.95
        A variant "wins" when ``P(variant > control) > threshold``.
    prior : tuple of float, default (1, 1)
        Beta prior of the conjugate analysis.
    n_sim : int, default 100
        Simulated null experiments (all in one vectorised call).
    seed : int, default 0
    control : str, optional
        The control arm (default: the one the results table names).

    Returns
    -------
    ChanceWinners
    """
    from workbench.experiments.conjugate import beta_decision_stats

    control = control_arm(table, control)
    table = sort_cells(table)
    lay = layout(table, control)
    a0, b0 = prior
    n = lay.grid(table["n"].to_numpy(float), 0.0)
    c = lay.grid(table["conversions"].to_numpy(float), 0.0)
    obs = beta_decision_stats(a0 + c, b0 + n - c, lay.mask, lay.control)["prob_beat_control"]
    observed = int(np.nansum(obs > threshold))
    pooled = (c.sum(axis=1) + a0) / (n.sum(axis=1) + a0 + b0)
    rng = np.random.default_rng(seed)
    sim_c = rng.binomial(n.astype(np.int64), pooled[:, None], size=(n_sim, *n.shape))
    s = lay.shape[0]
    flat = lambda x: x.reshape(n_sim * s, -1)  # noqa: E731
    nn = np.broadcast_to(n, sim_c.shape)
    res = beta_decision_stats(
        flat(a0 + sim_c),
        flat(b0 + nn - sim_c),
        np.tile(lay.mask, (n_sim, 1)),
        np.tile(lay.control, n_sim),
    )["prob_beat_control"]
    counts = np.nansum(res.reshape(n_sim, -1) > threshold, axis=1)
    m = int(lay.mask.sum() - s)
    lo, hi = np.quantile(counts, [0.05, 0.95])
    return ChanceWinners(
        comparisons=m,
        observed=observed,
        expected=float(counts.mean()),
        interval=(float(lo), float(hi)),
        approx=m * (1 - threshold),
        threshold=threshold,
    )


def _summarise_increment(row: dict[str, Any], name: str, draws: np.ndarray, hdi: float) -> None:
    """Add the mean and HDI of incremental ``name`` draws to ``row`` (and P(>0) for conversions)."""
    from workbench.experiments._summary import hdi_draws

    lo, hi = hdi_draws(draws[None, :], hdi)
    row[f"incremental_{name}"] = draws.mean()
    row[f"incremental_{name}_low"] = float(lo[0])
    row[f"incremental_{name}_high"] = float(hi[0])
    if name == "conversions":
        row["prob_positive"] = float((draws > 0).mean())
        row["lift_per_recipient"] = float(draws.mean() / row["n"])


def incremental(
    table: pd.DataFrame,
    baseline: str | None = None,
    *,
    hdi: float = 0.9,
    prior: tuple[float, float] = (1.0, 1.0),
    n_draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Incremental conversions and revenue of each arm over a baseline (e.g. a global holdout).

    For every arm ``t`` the increment is ``Σ_s n_{s,t} · (p_{s,t} − p_{s,baseline})`` over the
    segments (what the arm produced beyond what its recipients would have done under the
    baseline), computed from seeded draws of the conjugate posteriors of
    :mod:`~workbench.experiments.conjugate`; revenue uses revenue per recipient. For the
    ``segmentation_holdout`` design (arms ``mass``, ``segmented``, ``holdout``) this gives the
    incremental conversions of segmentation and of the mass send, and their difference is in the
    row ``segmented − mass`` when both arms exist.

    Parameters
    ----------
    table : DataFrame
        Results table; ``attrs["holdout"]`` or the control arm names the baseline by default.
    baseline : str, optional
        The baseline arm.
    hdi : float, default 0.9
    prior : tuple of float, default (1, 1)
    n_draws : int, default 4000
    seed : int, default 0

    Returns
    -------
    DataFrame
        One row per arm (and a comparison row): ``arm, n, incremental_conversions`` (mean),
        ``..._low``, ``..._high``, ``prob_positive``, ``lift_per_recipient`` (mean) and, with
        revenue, ``incremental_revenue`` with its interval.
    """
    baseline = baseline or table.attrs.get("holdout") or control_arm(table)
    if baseline not in set(table["arm"]):
        raise WorkbenchError(f"baseline arm '{baseline}' not in the table")
    table = sort_cells(table)
    lay = layout(table, baseline)
    if (lay.control < 0).any():
        raise WorkbenchError(f"baseline arm '{baseline}' missing in some segments")
    n = lay.grid(table["n"].to_numpy(float), 0.0)
    metrics = _posterior_draws(table, lay, prior, n_draws, np.random.default_rng(seed))
    arms = [a for a in sorted(table["arm"].unique()) if a != baseline]
    rows = []
    per_arm: dict[str, dict[str, np.ndarray]] = {}
    for arm in arms:
        cells = (table["arm"] == arm).to_numpy()
        si, pi = lay.seg[cells], lay.pos[cells]
        row: dict[str, object] = {"arm": arm, "n": int(n[si, pi].sum())}
        per_arm[arm] = {}
        for name, draws in metrics.items():
            diff = draws[si, pi] - draws[si, lay.control[si]]  # (segments, D)
            inc = (n[si, pi][:, None] * diff).sum(axis=0)
            per_arm[arm][name] = inc / n[si, pi].sum()  # per recipient of the arm
            _summarise_increment(row, name, inc, hdi)
        rows.append(row)
    if "segmented" in per_arm and "mass" in per_arm:
        row = {"arm": "segmented − mass", "n": rows[arms.index("segmented")]["n"]}
        for name in metrics:
            d = (per_arm["segmented"][name] - per_arm["mass"][name]) * row["n"]
            _summarise_increment(row, name, d, hdi)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(baseline=baseline, hdi=hdi)
    return out


def _posterior_draws(
    table: pd.DataFrame,
    lay: Layout,
    prior: tuple[float, float],
    n_draws: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Seeded draws of each cell's conversion rate (and revenue per recipient), ``(S, K, D)``."""
    a0, b0 = prior
    n = lay.grid(table["n"].to_numpy(float), 0.0)
    c = lay.grid(table["conversions"].to_numpy(float), 0.0)
    p = rng.beta((a0 + c)[..., None], (b0 + n - c)[..., None], size=(*n.shape, n_draws))
    metrics = {"conversions": p}
    if "revenue" in table.columns:
        from workbench.experiments.conjugate import order_value_shape_estimate

        k = order_value_shape_estimate(table)
        m0 = table["revenue"].sum() / max(table["conversions"].sum(), 1)
        rev = lay.grid(table["revenue"].to_numpy(float), 0.0)
        lam = rng.gamma((1 + k * (1 + c))[..., None], 1.0 / (m0 + rev)[..., None], size=p.shape)
        metrics["revenue"] = p * k / lam
    return metrics
