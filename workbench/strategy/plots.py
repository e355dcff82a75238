"""Figures of the strategy lab (notebook 06): truth against promise, per policy and per segment."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

#: One colour per policy, the same in every figure.
COLOURS = {
    "mass": "#4c72b0",
    "playbook": "#55a868",
    "uplift": "#c44e52",
    "random": "#8c8c8c",
}


def _colour(policy: str) -> str:
    return COLOURS.get(policy, "#333333")


def plot_policies(table: pd.DataFrame, value: str = "conversions") -> Any:
    """True incremental outcome of each policy (bar, interval) beside what the data promised.

    Parameters
    ----------
    table : DataFrame
        :attr:`workbench.strategy.lab.LabResult.policies`.
    value : {"conversions", "revenue"}
        Which outcome to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    col = f"incremental_{value}"
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(table) + 1.6), dpi=100)
    y = np.arange(len(table))[::-1]
    mean = table[col].to_numpy(dtype=float)
    lo, hi = table[f"{col}_low"].to_numpy(dtype=float), table[f"{col}_high"].to_numpy(dtype=float)
    err = np.vstack([mean - lo, hi - mean])
    ax.barh(y, mean, color=[_colour(p) for p in table["policy"]], alpha=0.85, label="true")
    if np.isfinite(err).all():
        ax.errorbar(mean, y, xerr=err, fmt="none", ecolor="black", capsize=4, lw=1)
    promised = f"promised_{value}"
    if promised in table:
        p = table[promised].to_numpy(dtype=float)
        ax.scatter(p, y, marker="D", s=60, color="white", edgecolor="black", zorder=3,
                   label="promised by the data")  # fmt: skip
        if value == "conversions":
            plo = table["promised_conversions_low"].to_numpy(dtype=float)
            phi = table["promised_conversions_high"].to_numpy(dtype=float)
            ax.hlines(y - 0.3, plo, phi, color="black", lw=1, linestyles="dotted")
    labels = [
        f"{p}\n{k:,} on the list" for p, k in zip(table["policy"], table["targeted"], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_ylabel("policy")
    unit = "converters" if value == "conversions" else "revenue"
    ax.set_xlabel(f"incremental {unit} over the replay (vs no broadcast)")
    ax.set_title(f"What each policy truly adds ({unit}), and what the data promised")
    ax.axvline(0, color="black", lw=0.8)
    ax.legend(loc="lower right", fontsize=9)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    fig.tight_layout()
    return fig


def plot_efficiency(table: pd.DataFrame) -> Any:
    """Incremental converters per 1,000 broadcasts against unsubscribes per 1,000 broadcasts.

    Parameters
    ----------
    table : DataFrame
        :attr:`workbench.strategy.lab.LabResult.policies`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    per = 1000 / table["broadcasts"].where(table["broadcasts"] > 0)
    colours = [_colour(p) for p in table["policy"]]
    for ax, (col, title) in zip(
        axes,
        (
            ("incremental_conversions", "incremental converters per 1,000 broadcasts"),
            ("unsubscribes", "extra unsubscribes per 1,000 broadcasts"),
        ),
        strict=True,
    ):
        v = table[col] * per
        lo, hi = table[f"{col}_low"] * per, table[f"{col}_high"] * per
        ax.bar(table["policy"], v, color=colours, alpha=0.85)
        err = np.vstack([v - lo, hi - v])
        if np.isfinite(err).all():
            ax.errorbar(table["policy"], v, yerr=err, fmt="none", ecolor="black", capsize=4)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("policy")
        ax.set_ylabel("per 1,000 broadcasts")
        ax.axhline(0, color="black", lw=0.8)
    fig.suptitle("Per email sent: what each policy gains and what it costs", fontsize=12)
    fig.tight_layout()
    return fig


def plot_segments(segments: pd.DataFrame, value: str = "conversions") -> Any:
    """True incremental outcome per segment, one bar per policy (with intervals).

    Parameters
    ----------
    segments : DataFrame
        :attr:`workbench.strategy.lab.LabResult.segments`.
    value : {"conversions", "revenue"}

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    col = f"incremental_{value}"
    names = list(dict.fromkeys(segments["segment_name"]))
    policies = list(dict.fromkeys(segments["policy"]))
    height = 0.5 * len(names) * max(1.0, len(policies) / 2) + 1.8
    fig, ax = plt.subplots(figsize=(9, height), dpi=100)
    h = 0.8 / len(policies)
    base = np.arange(len(names))[::-1]
    for i, p in enumerate(policies):
        part = segments[segments["policy"] == p].set_index("segment_name").reindex(names)
        v = part[col].to_numpy(dtype=float)
        err = np.vstack([v - part[f"{col}_low"], part[f"{col}_high"] - v])
        y = base + 0.4 - h * (i + 0.5)
        ax.barh(y, v, height=h, color=_colour(p), label=p, alpha=0.85)
        if np.isfinite(err).all():
            ax.errorbar(v, y, xerr=err, fmt="none", ecolor="black", lw=0.8, capsize=2)
    ax.set_yticks(base, [textwrap.fill(str(n), 28) for n in names], fontsize=9)
    ax.set_ylabel("segment")
    ax.axvline(0, color="black", lw=0.8)
    unit = "converters" if value == "conversions" else "revenue"
    ax.set_xlabel(f"incremental {unit} over the replay (vs no broadcast)")
    ax.set_title(f"Where each policy's gain comes from:\nincremental {unit} per segment")
    ax.legend(fontsize=9, loc="lower right")
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    fig.tight_layout()
    return fig


def budget_figure(
    gains: pd.DataFrame,
    budget: float,
    truth: pd.DataFrame | None = None,
    outcome: str = "revenue",
) -> Any:
    """The estimated gain curve with its interval, the true one if known, the budget marked.

    Parameters
    ----------
    gains : DataFrame
        :func:`workbench.uplift.policy.gain_table` (``budget, incremental, low, high``).
    budget : float
        Share of the list targeted, marked by a vertical line.
    truth : DataFrame, optional
        :func:`workbench.uplift.workflow.gain_of_ranking` of the same ranking with the true
        effects (``budget, incremental, optimum, random``).
    outcome : str
        What is counted ("revenue", "conversions"), for the labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    g = gains.sort_values("budget")
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    x = 100 * g["budget"]
    ax.fill_between(x, g["low"], g["high"], color="#c44e52", alpha=0.18, lw=0,
                    label="estimated from the test (interval)")  # fmt: skip
    ax.plot(x, g["incremental"], color="#c44e52", lw=2, label="estimated from the test")
    if truth is not None:
        t = truth.sort_values("budget")
        ax.plot(100 * t["budget"], t["incremental"], color="black", lw=2, label="true (the world)")
        ax.plot(100 * t["budget"], t["random"], color="#8c8c8c", lw=1.5, ls="--",
                label="true, random targeting")  # fmt: skip
    ax.axvline(100 * budget, color="#4c72b0", lw=1.5, ls=":")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("share of the list the email goes to (%), highest predicted uplift first")
    ax.set_ylabel(f"incremental {outcome}")
    ax.set_title(f"Incremental {outcome} by budget: the estimate and the truth")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.legend(fontsize=9, loc="best")
    fig.tight_layout()
    return fig
