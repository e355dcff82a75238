"""The previews side by side, and an explorer that shows one segment's email at a time.

:func:`side_by_side_html` is the HTML both the notebook (:func:`side_by_side`) and the compose
folder's ``index.html`` show: one card per segment with its inbox line (subject and preheader),
the email in an ``<iframe srcdoc>`` (sandboxed, no scripts; its pictures are inline SVG, so
nothing is fetched) and, under it, the variant of every block with the reason it was chosen.
An iframe keeps each email's own styles from leaking into the page, and keeps its pictures out
of the report's own image checks (the same hero twice is a feature of a side-by-side view, not a
repeated figure). ``ipywidgets`` is imported only when :func:`email_explorer` is called.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from workbench.content.render import Email

#: Styles of the cards (class names prefixed ``wb-mail-`` so that they touch nothing else).
CARD_CSS = """
.wb-mail-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr));
  gap: 20px; align-items: start; font-family: Helvetica, Arial, sans-serif; color: #222; }
.wb-mail-card { border: 1px solid #dcd8d0; border-radius: 8px; padding: 14px; background: #fff;
  min-width: 0; }
.wb-mail-card h3 { margin: 0 0 2px; font-size: 16px; line-height: 1.3; }
.wb-mail-meta { margin: 0 0 10px; font-size: 12px; color: #666; }
.wb-mail-inbox { margin: 0 0 10px; padding: 8px 10px; background: #f6f4ef; border-radius: 6px;
  font-size: 13px; line-height: 1.4; }
.wb-mail-inbox b { display: block; }
.wb-mail-inbox span { color: #555; }
.wb-mail-frame { display: block; width: 100%; height: 1150px; border: 1px solid #e5e1da;
  border-radius: 6px; background: #f3f1ed; }
.wb-mail-card dl.wb-mail-why { display: block; margin: 12px 0 0; padding: 0; font-size: 13px;
  line-height: 1.45; }
.wb-mail-card dl.wb-mail-why dt, .wb-mail-card dl.wb-mail-why dd { display: block; float: none;
  clear: both; width: auto; padding: 0; text-align: left; }
.wb-mail-card dl.wb-mail-why dt { margin: 8px 0 0; font-weight: bold; }
.wb-mail-card dl.wb-mail-why dd { margin: 2px 0 0; color: #333; }
.wb-mail-src { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px;
  font-size: 11px; font-weight: normal; background: #e8eef7; color: #1d3557; white-space: nowrap; }
.wb-mail-src.test { background: #e3f2ea; color: #0b6e4f; }
.wb-mail-src.default { background: #eee; color: #555; }
"""
_RESIZE = (  # measure from a collapsed frame: a tall one reports its own height
    "try{var d=this.contentDocument.documentElement;this.style.height='0px';"
    "this.style.height=(d.scrollHeight+2)+'px'}catch(e){}"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def email_frame(email: Email, title: str, height: int = 1150) -> str:
    """An ``<iframe srcdoc>`` holding an email, sandboxed, sized to its content once loaded.

    Parameters
    ----------
    email : Email
    title : str
        The frame's accessible name.
    height : int, default 1150
        Height in pixels until the page measures the email (and where scripts do not run).

    Returns
    -------
    str
    """
    return (
        f'<iframe class="wb-mail-frame" title="{_e(title)}" sandbox="allow-same-origin" '
        f'style="height:{int(height)}px" srcdoc="{_e(email.html)}" onload="{_RESIZE}"></iframe>'
    )


def _source_tag(source: str, certainty: float) -> str:
    text = source
    if isinstance(certainty, float) and not math.isnan(certainty) and source == "test":
        text = f"test, P(best) {certainty:.2f}"
    return f'<span class="wb-mail-src {_e(source)}">{_e(text)}</span>'


def _why(choices: pd.DataFrame) -> str:
    from workbench.content.blocks import load_catalogue
    from workbench.errors import WorkbenchError

    cat = load_catalogue()
    items = []
    for r in choices.itertuples(index=False):
        try:
            label = cat[r.block].variant(r.variant).label
            title = cat[r.block].title
        except (KeyError, WorkbenchError):  # a hand-made table: show the ids
            label, title = r.variant, r.block
        items.append(
            f"<dt>{_e(title[:1].upper() + title[1:])}: {_e(label)}"
            f"{_source_tag(str(r.source), float(r.certainty))}</dt><dd>{_e(r.reason)}</dd>"
        )
    return f'<dl class="wb-mail-why">{"".join(items)}</dl>'


def _emails(previews: Any) -> dict[Any, Email]:
    """Segment -> Email from a mapping or a compose result (its ``emails``)."""
    emails = getattr(previews, "emails", previews)
    if not isinstance(emails, Mapping):
        raise TypeError("previews must map segments to Email objects (or be a compose result)")
    return dict(emails)


def side_by_side_html(
    previews: Mapping[Any, Email] | Any,
    choices: pd.DataFrame | None = None,
    *,
    meta: Mapping[Any, str] | None = None,
) -> str:
    """The previews side by side, each with the reason for every block's variant.

    Parameters
    ----------
    previews : mapping or ComposeResult
        Segment -> :class:`~workbench.content.render.Email` (or a result of
        :func:`~workbench.content.compose.preview_emails`, whose choices are then used).
    choices : DataFrame, optional
        The choose table (:func:`~workbench.content.choose.choose_content`).
    meta : mapping, optional
        Segment -> a short line under its name (``"276 reachable subscribers"``).

    Returns
    -------
    str
        An HTML fragment: a ``<style>`` and a CSS grid of cards; everything escaped.
    """
    emails = _emails(previews)
    if choices is None:
        choices = getattr(previews, "choices", None)
    if meta is None:
        meta = getattr(previews, "meta", None)
    cards = []
    for seg, email in emails.items():
        name = email.segment_name or f"segment {seg}"
        head = name[:1].upper() + name[1:] if name == f"segment {seg}" else f"Segment {seg}: {name}"
        why = ""
        if choices is not None and len(choices):
            mine = choices.loc[choices["segment"].astype(str) == str(seg)]
            why = _why(mine)
        line = f'<p class="wb-mail-meta">{_e(meta[seg])}</p>' if meta and seg in meta else ""
        cards.append(
            '<article class="wb-mail-card">'
            f"<h3>{_e(head)}</h3>{line}"
            f'<p class="wb-mail-inbox"><b>{_e(email.subject)}</b>'
            f"<span>{_e(email.preheader)}</span></p>"
            f"{email_frame(email, f'Email preview for {head}')}"
            f"{why}</article>"
        )
    return f'<style>{CARD_CSS}</style><div class="wb-mail-grid">{"".join(cards)}</div>'


def side_by_side(previews: Mapping[Any, Email] | Any, choices: pd.DataFrame | None = None) -> Any:
    """The previews side by side for a notebook or the report (:func:`side_by_side_html`).

    Parameters
    ----------
    previews : mapping or ComposeResult
        Segment -> Email, or a compose result.
    choices : DataFrame, optional
        The choose table (default: the compose result's).

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    return HTML(side_by_side_html(previews, choices))


def _send_window_text(send_windows: pd.DataFrame | None, seg: Any) -> str:
    if send_windows is None or "segment" not in send_windows:
        return ""
    rows = send_windows.loc[send_windows["segment"].astype(str) == str(seg)]
    if rows.empty:
        return ""
    r = rows.iloc[0]
    for col in ("text", "window", "send_window", "send_window_text"):
        if col in rows.columns and isinstance(r[col], str) and r[col]:
            return r[col]
    for col in rows.columns:
        if "hour" in col:
            try:
                return f"around {int(round(float(r[col]))) % 24:02d}:00 local time"
            except (TypeError, ValueError):
                continue
    return ""


def explorer_html(email: Email, send_window: str = "") -> str:
    """What :func:`email_explorer` shows for one segment: inbox line, send window, the email."""
    when = f"<p><b>Send window:</b> {_e(send_window)}</p>" if send_window else ""
    return (
        f"<style>{CARD_CSS}</style><div class='wb-mail-card' style='max-width:680px'>"
        f'<p class="wb-mail-inbox"><b>{_e(email.subject)}</b><span>{_e(email.preheader)}</span>'
        f"</p>{when}{email_frame(email, f'Email preview for {email.segment_name}')}</div>"
    )


def email_explorer(
    previews: Mapping[Any, Email] | Any, send_windows: pd.DataFrame | None = None
) -> Any:
    """Pick a segment, see its email and its send window.

    Parameters
    ----------
    previews : mapping or ComposeResult
        Segment -> :class:`~workbench.content.render.Email`.
    send_windows : DataFrame, optional
        One row per ``segment`` with a send-window text (column ``text``, ``window`` or
        ``send_window``) or a recommended hour (a column whose name holds ``hour``), e.g. the
        send windows of :mod:`workbench.timing`.

    Returns
    -------
    ipywidgets.VBox
        A dropdown of segments above a ``widgets.HTML`` that shows the chosen one (updated by
        ``observe``, no ``Output`` widget).
    """
    import ipywidgets as w

    emails = _emails(previews)
    if not emails:
        raise ValueError("no previews to explore")
    options = [(f"{s}: {e.segment_name}" if e.segment_name else f"segment {s}", s)
               for s, e in emails.items()]  # fmt: skip
    pick = w.Dropdown(options=options, description="Segment", layout=w.Layout(width="32em"))
    pick.style.description_width = "initial"
    view = w.HTML()

    def show(change: Mapping[str, Any] | None = None) -> None:
        seg = pick.value
        view.value = explorer_html(emails[seg], _send_window_text(send_windows, seg))

    pick.observe(show, "value")
    show()
    return w.VBox([pick, view])
