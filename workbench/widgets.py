"""Pieces the interactive explorers share: a slider with a box for exact values, and numbers in
their tables written for people.

ipywidgets is imported only inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

BOX_WIDTH = "6.5em"
"""Width of the box beside a slider: room for ``20,000`` or ``0.0001``."""


def with_box(slider: Any) -> Any:
    """``slider`` with a text box beside it that shows and sets its exact value.

    The two are linked in the browser (``jslink``): dragging the slider updates the box, typing in
    the box (Enter) moves the slider, and only the slider's value is observed. A log slider gets a
    plain number box (its value, not its exponent).

    Parameters
    ----------
    slider : ipywidgets slider
        An ``IntSlider``, ``FloatSlider`` or ``FloatLogSlider``.

    Returns
    -------
    ipywidgets.HBox
        The slider (its own read-out hidden) and the box.
    """
    import ipywidgets as w

    slider.readout = False
    layout = w.Layout(width=BOX_WIDTH)
    if isinstance(slider, w.IntSlider):
        box = w.BoundedIntText(value=slider.value, min=slider.min, max=slider.max,
                               step=slider.step, layout=layout)  # fmt: skip
    elif isinstance(slider, w.FloatLogSlider):
        lo, hi = slider.base**slider.min, slider.base**slider.max
        box = w.BoundedFloatText(value=slider.value, min=lo, max=hi, step=None, layout=layout)
    else:
        box = w.BoundedFloatText(value=slider.value, min=slider.min, max=slider.max,
                                 step=slider.step, layout=layout)  # fmt: skip
    box.continuous_update = False
    w.jslink((slider, "value"), (box, "value"))
    box.observe(lambda change: setattr(slider, "value", change["new"]), "value")  # no front end
    return w.HBox([slider, box])


def percent_text(x: float, digits: int = 1) -> str:
    """A share as a percentage people read: ``4.2%``; below what ``digits`` can show, ``under 0.1%``
    (never ``1.7e-08``); NaN as an empty cell."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    floor = 10.0 ** (-digits) / 100
    if 0 < abs(x) < floor:
        return f"under {100 * floor:.{digits}f}%"
    return f"{100 * x:.{digits}f}%"


def for_people(
    table: pd.DataFrame,
    *,
    percent: Iterable[str] = (),
    digits: int = 1,
    signed: Iterable[str] = (),
) -> Any:
    """A Styler of ``table`` whose numbers are written for people.

    Counts get thousands separators and no decimals; ``percent`` columns are shares shown as
    percentages with ``digits`` decimals (tiny ones as ``under 0.1%``); ``signed`` columns get a
    sign and two decimals (standardised differences); other floats get three significant
    digits. The index is kept; cells are compact so the table fits a notebook's panel.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    percent, signed = list(percent), list(signed)
    fmt: dict[str, Any] = {}
    for col in table.columns:
        s = table[col]
        if col in percent:
            fmt[col] = lambda v, d=digits: percent_text(v, d)
        elif col in signed:
            fmt[col] = "{:+.2f}"
        elif pd.api.types.is_integer_dtype(s) or (
            pd.api.types.is_float_dtype(s) and s.dropna().mod(1).eq(0).all()
        ):
            fmt[col] = "{:,.0f}"
        elif pd.api.types.is_float_dtype(s):
            fmt[col] = "{:,.3g}"
    styler = table.style.format(fmt, na_rep="", escape="html")
    return styler.set_table_styles(
        [{"selector": "th, td", "props": "padding: 2px 6px; font-size: 12px; white-space: nowrap"}]
    )
