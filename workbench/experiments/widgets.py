"""Teaching explorer: move prior and data sliders, watch the posteriors and the decision change.

``ipywidgets`` is imported only when :func:`explorer` is called. :func:`explorer_figure` draws the
same figure without widgets (for reports and tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def explorer_figure(
    prior_a: float = 1.0,
    prior_b: float = 1.0,
    n_control: int = 1000,
    conv_control: int = 50,
    n_variant: int = 1000,
    conv_variant: int = 65,
    loss_threshold: float = 0.01,
) -> tuple[Figure, pd.DataFrame]:
    """Posterior densities of a two-arm test and its decision table.

    Returns
    -------
    fig : Figure
    table : DataFrame
        The conjugate result (probability to be best, expected loss, decision).
    """
    import matplotlib.pyplot as plt
    from scipy import stats

    from workbench.experiments.conjugate import ConjugateABTest
    from workbench.experiments.inputs import from_aggregated

    conv_control = min(conv_control, n_control)
    conv_variant = min(conv_variant, n_variant)
    table = from_aggregated(
        pd.DataFrame(
            {
                "arm": ["control", "variant"],
                "n": [n_control, n_variant],
                "conversions": [conv_control, conv_variant],
            }
        )
    )
    res = ConjugateABTest(prior=(prior_a, prior_b), loss_threshold=loss_threshold).fit(table)
    r = res.result_.set_index("arm")
    fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    hi = max(
        stats.beta.ppf(0.999, prior_a + c, prior_b + n - c)
        for n, c in ((n_control, conv_control), (n_variant, conv_variant))
    )
    x = np.linspace(0, hi, 400)
    ax.plot(x, stats.beta.pdf(x, prior_a, prior_b), color="0.6", ls="--", label="prior")
    for arm, n, c, color in (
        ("control", n_control, conv_control, "#e76f51"),
        ("variant", n_variant, conv_variant, "#2a9d8f"),
    ):
        ax.plot(x, stats.beta.pdf(x, prior_a + c, prior_b + n - c), color=color, label=arm)
    ax.set_xlabel("conversion rate")
    ax.set_yticks([])
    ax.legend(frameon=False)
    v = r.loc["variant"]
    ax.set_title(
        f"P(variant best) = {v['prob_best']:.3f}, expected loss of shipping it = "
        f"{v['expected_loss']:.5f} → {v['decision']}",
        fontsize=10,
    )
    ax.spines[["top", "right"]].set_visible(False)
    cols = ["n", "conversions", "rate_mean", "prob_best", "expected_loss", "decision"]
    return fig, r[cols]


def explorer() -> Any:
    """Interactive explorer (ipywidgets): prior and data sliders ⇒ posteriors, P(best), loss.

    Under papermill or in a static report it renders once with the default values.

    Returns
    -------
    ipywidgets.Widget
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    def update(**kw: Any) -> None:
        _, table = explorer_figure(**kw)
        display(table)
        plt.show()

    slider = dict(continuous_update=False, style={"description_width": "120px"})
    return w.interactive(
        update,
        prior_a=w.FloatSlider(1.0, min=0.5, max=50, step=0.5, description="prior a", **slider),
        prior_b=w.FloatSlider(1.0, min=0.5, max=500, step=0.5, description="prior b", **slider),
        n_control=w.IntSlider(1000, min=10, max=20000, step=10, description="control n", **slider),
        conv_control=w.IntSlider(50, min=0, max=2000, description="control conv.", **slider),
        n_variant=w.IntSlider(1000, min=10, max=20000, step=10, description="variant n", **slider),
        conv_variant=w.IntSlider(65, min=0, max=2000, description="variant conv.", **slider),
        loss_threshold=w.FloatLogSlider(
            0.01, base=10, min=-4, max=-0.5, description="loss threshold", **slider
        ),  # fmt: skip
    )
