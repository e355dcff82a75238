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
    from workbench.widgets import percent_text

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
        f"P(variant best) = {percent_text(v['prob_best'])}, expected loss of shipping it = "
        f"{percent_text(v['expected_loss'], 2)} (conversion-rate points) → {v['decision']}",
        fontsize=10,
    )
    ax.spines[["top", "right"]].set_visible(False)
    cols = ["n", "conversions", "rate_mean", "prob_best", "expected_loss", "decision"]
    return fig, r[cols]


def decision_view(table: pd.DataFrame) -> Any:
    """The explorer's decision table, written for people (percentages, no ``1.7e-08``)."""
    from workbench.widgets import for_people

    shown = table.rename(
        columns={
            "rate_mean": "conversion rate",
            "prob_best": "P(best)",
            "expected_loss": "expected loss",
        }  # fmt: skip
    )
    styler = for_people(
        shown.reset_index(), percent=["conversion rate", "P(best)", "expected loss"], digits=2
    )
    return styler.hide(axis="index")


def explorer() -> Any:
    """Interactive explorer (ipywidgets): prior and data sliders ⇒ posteriors, P(best), loss.

    Each slider has a box beside it for an exact value. Under papermill or in a static report
    it renders once with the default values. The table and the figure are an HTML and an image
    widget replaced on each move: no ``Output`` widget and no display from a callback, whose
    messages can leave a notebook run without a front end (papermill, nbclient) waiting for ever.

    Returns
    -------
    ipywidgets.VBox
        The sliders above the decision table and the posterior figure.
    """
    import io

    import ipywidgets as w
    import matplotlib.pyplot as plt

    from workbench.widgets import with_box

    style = dict(continuous_update=False, style={"description_width": "110px"},
                 layout=w.Layout(width="340px"))  # fmt: skip
    sliders = {
        "prior_a": w.FloatSlider(1.0, min=0.5, max=50, step=0.5, description="prior a", **style),
        "prior_b": w.FloatSlider(1.0, min=0.5, max=500, step=0.5, description="prior b", **style),
        "n_control": w.IntSlider(1000, min=10, max=20000, step=10, description="control n",
                                 **style),
        "conv_control": w.IntSlider(50, min=0, max=2000, description="control conv.", **style),
        "n_variant": w.IntSlider(1000, min=10, max=20000, step=10, description="variant n",
                                 **style),
        "conv_variant": w.IntSlider(65, min=0, max=2000, description="variant conv.", **style),
        "loss_threshold": w.FloatLogSlider(0.01, base=10, min=-4, max=-0.5,
                                           description="loss threshold", **style),
    }  # fmt: skip
    out = w.HTML(layout=w.Layout(max_width="100%", overflow="auto"))
    image = w.Image(format="png", layout=w.Layout(max_width="100%"))

    def update(*_: object) -> None:
        fig, table = explorer_figure(**{k: s.value for k, s in sliders.items()})
        out.value = decision_view(table).to_html()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        image.value = buf.getvalue()

    for s in sliders.values():
        s.observe(update, "value")
    update()
    boxes = [with_box(s) for s in sliders.values()]
    return w.VBox([w.HBox([w.VBox(boxes[:4]), w.VBox(boxes[4:])]), out, image])
