"""Shared machinery: the segment × arm layout, summaries of posterior draws, decisions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DECISIONS = ("ship", "stop", "keep testing")


@dataclass(frozen=True)
class Layout:
    """Rows of a results table placed in a padded ``(segment, arm)`` grid.

    Attributes
    ----------
    seg : ndarray of int, shape (n_rows,)
        Segment index of each row.
    pos : ndarray of int, shape (n_rows,)
        Position of each row's arm within its segment.
    mask : ndarray of bool, shape (S, K)
        Which grid cells hold an arm.
    control : ndarray of int, shape (S,)
        Position of the control arm in each segment.
    segments : Index
        Segment labels in grid order.
    """

    seg: np.ndarray
    pos: np.ndarray
    mask: np.ndarray
    control: np.ndarray
    segments: pd.Index

    @property
    def shape(self) -> tuple[int, int]:
        """``(S, K)``: segments and maximum number of arms."""
        return self.mask.shape  # type: ignore[return-value]

    def grid(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Place one value per row into the padded grid."""
        out = np.full(self.shape, fill, dtype="float64")
        out[self.seg, self.pos] = values
        return out

    def rows(self, grid: np.ndarray) -> np.ndarray:
        """Read one value per row back from a grid (leading axes ``(S, K)``)."""
        return grid[self.seg, self.pos]


def layout(table: pd.DataFrame, control: str) -> Layout:
    """Build the :class:`Layout` of a results table (rows sorted by segment, then arm)."""
    codes, uniques = pd.factorize(table["segment"], sort=False)
    pos = table.groupby(codes, sort=False).cumcount().to_numpy()
    s, k = len(uniques), int(pos.max()) + 1
    mask = np.zeros((s, k), dtype=bool)
    mask[codes, pos] = True
    ctrl = np.full(s, -1, dtype=np.int64)
    is_c = (table["arm"] == control).to_numpy()
    ctrl[codes[is_c]] = pos[is_c]
    return Layout(codes, pos, mask, ctrl, pd.Index(uniques))


def hdi_draws(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval along the last axis of an array of draws (ArviZ ``hdi``)."""
    from arviz_stats import hdi

    flat = draws.reshape(-1, draws.shape[-1])
    out = np.asarray(hdi(flat, prob=prob, axis=-1))
    return out[:, 0].reshape(draws.shape[:-1]), out[:, 1].reshape(draws.shape[:-1])


def summarize_draws(
    draws: np.ndarray, lay: Layout, *, hdi: float, rope: float, with_hdi: bool = True
) -> dict[str, np.ndarray]:
    """Decision quantities from posterior draws of a metric, per segment × arm.

    Parameters
    ----------
    draws : ndarray, shape (S, K, D)
        Draws of the metric (rate or revenue per recipient); padded cells are ignored.
    lay : Layout
        Where the arms are.
    hdi : float
        Interval probability.
    rope : float
        Half-width of the region of practical equivalence on the relative lift vs control.
    with_hdi : bool, default True
        Also compute the HDI of the metric itself.

    Returns
    -------
    dict of str to ndarray of shape (S, K)
        ``mean, hdi_low, hdi_high, prob_best, prob_beat_control, expected_loss``, ``lift_mean``
        (ratio of posterior means minus one), ``lift_low, lift_high`` (central interval of the
        relative lift vs control) and ``prob_rope``.
    """
    s_idx = np.arange(draws.shape[0])
    full = bool(lay.mask.all())
    m = draws if full else np.where(lay.mask[..., None], draws, -np.inf)
    best = m.max(axis=1)  # (S, D)
    out: dict[str, np.ndarray] = {}
    out["mean"] = draws.mean(axis=-1)
    # P(best): share of draws where the arm attains the maximum (a pass per arm; K is small)
    out["prob_best"] = np.stack(
        [(m[:, k, :] == best).mean(axis=-1) for k in range(draws.shape[1])], axis=1
    )
    out["expected_loss"] = np.stack(
        [(best - draws[:, k, :]).mean(axis=-1) for k in range(draws.shape[1])], axis=1
    )
    ctrl = draws[s_idx, lay.control]  # (S, D)
    out["prob_beat_control"] = (draws > ctrl[:, None, :]).mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["lift_mean"] = out["mean"] / out["mean"][s_idx, lay.control][:, None] - 1.0
    variant = lay.mask.copy()
    variant[s_idx, lay.control] = False
    out["prob_rope"] = np.full(lay.shape, np.nan)
    out["lift_low"] = np.full(lay.shape, np.nan)
    out["lift_high"] = np.full(lay.shape, np.nan)
    if variant.any():
        vs, vk = np.nonzero(variant)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = draws[vs, vk] / ctrl[vs] - 1.0  # (variant cells, D)
        out["prob_rope"][vs, vk] = (np.abs(lift) <= rope).mean(axis=-1)
        q = np.quantile(lift, [(1 - hdi) / 2, (1 + hdi) / 2], axis=-1)
        out["lift_low"][vs, vk], out["lift_high"][vs, vk] = q[0], q[1]
    if with_hdi:
        out["hdi_low"], out["hdi_high"] = hdi_draws(draws, hdi)
    for key in ("prob_beat_control", "lift_mean"):
        out[key][s_idx, lay.control] = np.nan
    return out


def decide(
    expected_loss_rel: np.ndarray,
    prob_rope: np.ndarray,
    lay: Layout,
    *,
    loss_threshold: float,
    rope_prob: float = 0.95,
) -> np.ndarray:
    """Decision per segment × arm: ``ship``, ``stop`` or ``keep testing``.

    In each segment the arm with the smallest expected loss is the candidate. When its relative
    expected loss is below ``loss_threshold`` it is **shipped** (sent to the segment from now on;
    for the control arm that means keeping it) and every other arm is **stopped**. Otherwise a
    variant whose relative lift vs control lies inside the ROPE with probability ≥ ``rope_prob``
    is stopped (it is practically the same as the control); when every variant is stopped that
    way the control is shipped. The other arms **keep testing**.

    Returns
    -------
    ndarray of str, shape (S, K)
    """
    s_idx = np.arange(lay.shape[0])
    loss = np.where(lay.mask, expected_loss_rel, np.inf)
    cand = loss.argmin(axis=1)
    decided = loss[s_idx, cand] < loss_threshold
    out = np.full(lay.shape, "keep testing", dtype=object)
    equiv = lay.mask & (prob_rope >= rope_prob)
    equiv[s_idx, lay.control] = False
    out[equiv] = "stop"
    variants = lay.mask.sum(axis=1) - 1
    all_equiv = equiv.sum(axis=1) == variants
    out[s_idx[all_equiv], lay.control[all_equiv]] = "ship"
    out[decided] = "stop"
    out[s_idx[decided], cand[decided]] = "ship"
    return out


def add_interval(out: pd.DataFrame, name: str, lay: Layout, stats: dict[str, np.ndarray]) -> None:
    """Add the columns ``{name}_mean, {name}_hdi_low, {name}_hdi_high`` from a summary grid."""
    out[f"{name}_mean"] = lay.rows(stats["mean"])
    out[f"{name}_hdi_low"] = lay.rows(stats["hdi_low"])
    out[f"{name}_hdi_high"] = lay.rows(stats["hdi_high"])


def add_decisions(
    out: pd.DataFrame,
    lay: Layout,
    stats: dict[str, np.ndarray],
    *,
    metric: str,
    loss_threshold: float,
    rope_prob: float,
) -> None:
    """Add the decision columns of a results table (the same for every model).

    Parameters
    ----------
    out : DataFrame
        The results table, one row per segment × arm in the order of ``lay``; changed in place.
    lay : Layout
    stats : dict of str to ndarray, shape (S, K)
        ``mean, prob_best, prob_beat_control, expected_loss, lift_mean, lift_low, lift_high,
        prob_rope`` of the decision metric (see :func:`summarize_draws`).
    metric : str
        Name of the decision metric.
    loss_threshold, rope_prob : float
        See :func:`decide`.

    Notes
    -----
    Adds ``metric, prob_best, prob_beat_control, expected_loss, expected_loss_rel (expected loss
    / posterior mean), lift_mean, lift_low, lift_high, prob_rope, decision``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        loss_rel = stats["expected_loss"] / stats["mean"]
    decision = decide(
        loss_rel, stats["prob_rope"], lay, loss_threshold=loss_threshold, rope_prob=rope_prob
    )
    out["metric"] = metric
    for key in ("prob_best", "prob_beat_control", "expected_loss"):
        out[key] = lay.rows(stats[key])
    out["expected_loss_rel"] = lay.rows(loss_rel)
    for key in ("lift_mean", "lift_low", "lift_high", "prob_rope"):
        out[key] = lay.rows(stats[key])
    out["decision"] = lay.rows(decision).astype("str")
