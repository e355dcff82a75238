"""Figures of the customer-value models: the papers' diagnostics and value per segment.

Each function takes a table of :mod:`workbench.clv.diagnostics` or :mod:`workbench.clv.segments`
and returns a Figure with a title that says what it shows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from workbench.plots import _despine, _fig, _legend_right, wrap_label

OBSERVED, MODEL, NAIVE = "#333333", "#1f77b4", "#ff7f0e"


def tracking_plot(table: pd.DataFrame, model_name: str = "model") -> Figure:
    """Repeat purchases per week and cumulated, observed against the model's expectation.

    Parameters
    ----------
    table : DataFrame
        :func:`workbench.clv.diagnostics.tracking`.
    model_name : str
        Label of the expectation.
    """
    fig, (ax1, ax2) = _fig(11, 4, ncols=2)
    weeks = table["week_start"]
    for ax, obs, exp, what in (
        (ax1, "observed", "expected", "per week"),
        (ax2, "observed_cumulative", "expected_cumulative", "cumulative"),
    ):
        ax.plot(weeks, table[obs], color=OBSERVED, lw=1.8, label="observed")
        ax.plot(weeks, table[exp], color=MODEL, lw=1.8, ls="--", label=f"{model_name} expects")
        hold = table["period"] == "holdout"
        if hold.any():
            start = weeks[hold].iloc[0]
            ax.axvline(start, color="#999999", lw=1, ls=":")
            ax.annotate(
                "holdout \u2192", (start, 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -12), textcoords="offset points", fontsize=9, color="#666666",
            )  # fmt: skip
        ax.set_ylabel(f"repeat purchases ({what})")
        ax.set_xlabel("week")
        ax.tick_params(axis="x", labelrotation=30)
        _despine(ax)
    ax1.legend(fontsize=9, frameon=False, loc="upper left")
    fig.suptitle("Repeat purchases: observed against the model, calibration then holdout")
    return fig


def conditional_expectations_plot(table: pd.DataFrame, model_name: str = "model") -> Figure:
    """Mean holdout purchases by calibration frequency: observed, the model, the naive rule."""
    fig, (ax,) = _fig(8, 4)
    x = np.arange(len(table))
    ax.plot(x, table["observed"], "o-", color=OBSERVED, label="observed")
    ax.plot(x, table["predicted"], "s--", color=MODEL, label=model_name)
    if "naive" in table:
        ax.plot(x, table["naive"], "^:", color=NAIVE, label="recent buyers buy again")
    ax.set_xticks(x, table["frequency"])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title("Who buys again: holdout purchases by past frequency")
    _despine(ax)
    ax.legend(fontsize=9, frameon=False, loc="upper left")
    return fig


def frequency_histogram_plot(table: pd.DataFrame, model_name: str = "model") -> Figure:
    """Customers by repeat purchases in the calibration: observed bars, expected bars."""
    fig, (ax,) = _fig(8, 4)
    x = np.arange(len(table))
    w = 0.4
    ax.bar(x - w / 2, table["observed"], w, color=OBSERVED, label="observed")
    ax.bar(x + w / 2, table["expected"], w, color=MODEL, label=f"{model_name} expects")
    ax.set_xticks(x, table["frequency"])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title("How often customers bought again: the model against the data")
    _despine(ax)
    ax.legend(fontsize=9, frameon=False)
    return fig


def p_alive_map(predictions: pd.DataFrame, time_unit: str = "weeks", bins: int = 12) -> Figure:
    """Mean P(alive) by recency and frequency: the customers the model thinks have left."""
    fig, (ax,) = _fig(8, 4.5)
    t = predictions
    age_since = (t["T"] - t["recency"]).to_numpy(float)
    fq = np.minimum(t["frequency"].to_numpy(), 10)
    edges = np.linspace(0, max(float(age_since.max()), 1e-9), bins + 1)
    col = np.clip(np.digitize(age_since, edges) - 1, 0, bins - 1)
    grid = np.full((11, bins), np.nan)
    frame = pd.DataFrame({"f": fq, "c": col, "p": t["p_alive"].to_numpy(float)})
    for (f, c), v in frame.groupby(["f", "c"])["p"].mean().items():
        grid[int(f), int(c)] = v
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="RdYlGn", vmin=0, vmax=1,
                   extent=(edges[0], edges[-1], -0.5, 10.5))  # fmt: skip
    ax.set_yticks(range(11), [str(k) for k in range(10)] + ["10+"])
    ax.set_xlabel(f"{time_unit} since the last purchase")
    ax.set_ylabel("repeat purchases")
    ax.set_title("P(still a customer) by repeat purchases and time since the last one")
    fig.colorbar(im, ax=ax, label="mean P(alive)")
    return fig


def value_at_risk_bars(table: pd.DataFrame, names: Mapping | None = None, top: int = 12) -> Figure:
    """Expected value and value at risk per segment, largest risk first.

    Parameters
    ----------
    table : DataFrame
        :func:`workbench.clv.segments.value_playbook`.
    names : mapping, optional
        Segment -> readable name.
    top : int
        Segments shown.
    """
    t = table.sort_values("value_at_risk", ascending=False).head(top).iloc[::-1]
    labels = [wrap_label((names or {}).get(s, s), 34) for s in t["segment"]]
    fig, (ax,) = _fig(9, 0.45 * len(t) + 1.5)
    y = np.arange(len(t))
    ax.barh(y - 0.2, t["expected_value"], 0.4, color=MODEL, label="expected value (CLV)")
    ax.barh(y + 0.2, t["value_at_risk"], 0.4, color=NAIVE, label="value at risk")
    ax.set_yticks(y, labels)
    ax.set_xlabel("value over the horizon (shop currency)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("segment")
    risk, worth = float(table["value_at_risk"].sum()), float(table["expected_value"].sum())
    if worth > 0 and risk < 0.01 * worth:  # the orange bars would be invisible: say why
        ax.set_title(
            "Hardly any value at risk: the model sees nearly every customer as still buying"
        )
    else:
        ax.set_title("Where value is at risk: win-back candidates by segment")
    _despine(ax)
    _legend_right(ax)
    return fig
