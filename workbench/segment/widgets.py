"""Interactive explorer: pick a method and k, watch the segment profiles update.

ipywidgets is imported only when :func:`explorer` is called. Under papermill (no front end) the
explorer renders its first state once and does nothing else. The table is an HTML widget whose
value is replaced on each move: no ``Output`` widget and no display from a callback, whose
messages can leave a notebook run without a front end (papermill, nbclient) waiting for ever.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from workbench.segment.methods import METHODS


def explorer(
    features: pd.DataFrame,
    methods: Sequence[str] = METHODS,
    ks: Sequence[int] = range(3, 13),
    k: int = 8,
    method: str = "deconvolved",
    sample_size: int = 3000,
    seed: int = 0,
    top: int = 8,
) -> object:
    """An ipywidgets panel: method and k selectors above a table of profiles.

    Parameters
    ----------
    features : DataFrame
        Feature table (a seeded sample of ``sample_size`` rows is used to stay responsive).
    methods, ks : sequence
        Choices offered.
    k, method : initial choice
    sample_size, seed : int
    top : int
        Features shown (those that vary most across segments).

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as w

    from workbench.segment.pipelines import Segmenter
    from workbench.segment.profiles import name_segments, standardized_differences

    sample = features.sample(n=min(sample_size, len(features)), random_state=seed).sort_index()
    from workbench.widgets import for_people, with_box

    m = w.Dropdown(options=list(methods), value=method, description="method")
    kk = w.IntSlider(value=k, min=min(ks), max=max(ks), description="k", continuous_update=False)
    out = w.HTML(layout=w.Layout(max_width="100%", overflow="auto"))

    def update(*_: object) -> None:
        seg = Segmenter(
            m.value,
            kk.value,
            min_size=max(10, len(sample) // 100),
            sample_size=None,
            random_state=seed,
        ).fit(sample)
        labels = pd.Series(seg.labels_, index=sample.index)
        z = standardized_differences(sample, labels)
        cols = z.abs().max().sort_values(ascending=False).index[:top]
        table = z[cols].copy()
        table.insert(0, "size", labels.value_counts().sort_index())
        table.insert(0, "name", pd.Series(name_segments(sample, labels)))
        styler = for_people(table, signed=list(cols))
        styler = styler.background_gradient(cmap="RdBu_r", vmin=-2, vmax=2, subset=list(cols))
        out.value = styler.to_html()

    m.observe(update, "value")
    kk.observe(update, "value")
    update()
    return w.VBox([w.HBox([m, with_box(kk)]), out])
