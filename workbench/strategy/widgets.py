"""The budget explorer of notebook 06: move the budget, watch the incremental outcome.

ipywidgets and matplotlib are imported only when :func:`budget_explorer` is called. Under
papermill (no front end) the explorer renders its first state once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def budget_line(
    gains: pd.DataFrame, budget: float, truth: pd.DataFrame | None = None, outcome: str = "revenue"
) -> str:
    """One sentence on the budget nearest ``budget``: targeted, estimate with interval, truth."""
    g = gains.iloc[int(np.argmin(np.abs(gains["budget"].to_numpy() - budget)))]
    text = (
        f"Sending to {g['budget']:.0%} of the list ({int(g['targeted']):,} subscribers): "
        f"estimated incremental {outcome} {g['incremental']:,.0f} "
        f"({g['low']:,.0f} to {g['high']:,.0f})"
    )
    if truth is not None:
        t = truth.iloc[int(np.argmin(np.abs(truth["budget"].to_numpy() - budget)))]
        text += f"; truly {t['incremental']:,.0f} (random targeting: {t['random']:,.0f})"
    return text + "."


def budget_explorer(
    gains: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    outcome: str = "revenue",
    budget: float = 0.5,
) -> Any:
    """A slider over the budget above the gain curve and a sentence with the numbers.

    The chart is an image widget redrawn on each move and the sentence an HTML widget: no
    ``Output`` widget and no display from a callback, whose messages can leave a notebook run
    without a front end (papermill, nbclient) waiting for ever.

    Parameters
    ----------
    gains, truth, outcome
        As in :func:`workbench.strategy.plots.budget_figure`.
    budget : float, default 0.5
        The starting budget.

    Returns
    -------
    ipywidgets.VBox
    """
    import html
    import io

    import ipywidgets as w
    import matplotlib.pyplot as plt

    from workbench.strategy.plots import budget_figure
    from workbench.widgets import with_box

    # whole percents: a float slider shows steps of 0.05 as 0.7499999
    steps = np.round(100 * np.sort(gains["budget"].to_numpy(dtype=float))).astype(int)
    step = int(np.min(np.diff(steps))) if steps.size > 1 else 5
    slider = w.IntSlider(value=int(round(100 * budget)), min=int(steps[0]), max=int(steps[-1]),
                         step=max(step, 1), description="budget %",
                         continuous_update=False)  # fmt: skip
    image = w.Image(format="png", layout=w.Layout(max_width="100%"))
    line = w.HTML()

    def update(*_: object) -> None:
        share = slider.value / 100
        fig = budget_figure(gains, share, truth, outcome)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        image.value = buf.getvalue()
        line.value = html.escape(budget_line(gains, share, truth, outcome))

    slider.observe(update, "value")
    update()
    return w.VBox([with_box(slider), image, line])
