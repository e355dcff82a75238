"""One stakeholder page for a report run: every executed notebook, no code.

The executed notebooks are merged into one notebook (a header with the run facts and a contents
list, then one section per notebook with its headline numbers as a small table) and exported once
with nbconvert's :class:`~nbconvert.HTMLExporter`: code inputs and prompts hidden, PNG figures
embedded as base64, cells tagged ``remove-cell`` / ``remove-input`` / ``remove-output`` honoured.
The notebooks' markdown prose serves as the captions of their figures and tables.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.reports._record import HEADLINE_MIME, SKIPPED_MIME, Headline

_HEADING = re.compile(r"^(#{1,4})(?=\s)", flags=re.MULTILINE)


@dataclass
class Section:
    """One notebook's part of the page.

    Attributes
    ----------
    name : str
        The notebook's name (anchor of its section).
    title : str
        Section title.
    notebook : NotebookNode
        The executed notebook.
    headlines : dict
        Its recorded headline numbers, ``{name: {"value": ..., "caption": ...}}``.
    skipped : list of dict
        The sections it skipped for this data (:func:`~workbench.reports.skip`),
        ``{"section": ..., "reason": ...}``.
    """

    name: str
    title: str
    notebook: Any
    headlines: Mapping[str, Headline] = field(default_factory=dict)
    skipped: Sequence[Mapping[str, str]] = field(default_factory=list)


def _anchor(name: str) -> str:
    return "nb-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name)


def _table(rows: Sequence[tuple[str, str]], css: str) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{css}">{body}</table>'


def _format_value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "n/a" if v is None else str(v)


def _headline_table(headlines: Mapping[str, Headline]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(h.get('caption') or name)}</td>"
        f"<td><strong>{html.escape(_format_value(h.get('value')))}</strong></td></tr>"
        for name, h in headlines.items()
    )
    return (
        '<table class="wb-headlines"><caption>Headline numbers</caption>'
        f"<tbody>{rows}</tbody></table>"
    )


def _skipped_list(skipped: Sequence[Mapping[str, str]]) -> str:
    items = "".join(
        f"<li>{html.escape(x.get('section', ''))}: {html.escape(x.get('reason', ''))}</li>"
        for x in skipped
    )
    return f'<div class="wb-skipped"><p>Not shown for this data:</p><ul>{items}</ul></div>'


_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _clean_cells(nb: Any) -> list[Any]:
    """The cells worth showing: no headline bundles, no stderr, no code cells left empty.

    Interactive widgets are left out too: a static page cannot run them, and their text
    fallback (``VBox(children=...)``) means nothing to a reader. A section the notebook skipped
    (a code cell that displayed a :func:`~workbench.reports.skip` bundle) is left out with the
    prose right before it: the section's intro lists it instead.
    """
    cells: list[Any] = []
    prose = 0  # markdown cells kept since the last code cell: the prose of the coming section
    for cell in nb.cells:
        if cell.cell_type == "code" and any(
            SKIPPED_MIME in o.get("data", {}) for o in cell.get("outputs", [])
        ):
            del cells[len(cells) - prose :]
            prose = 0
            continue
        prose = prose + 1 if cell.cell_type == "markdown" else 0
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            cell.source = _HEADING.sub(r"##\1", cell.source)  # sections are h2: # -> ###
        elif cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                and HEADLINE_MIME not in o.get("data", {})
                and _WIDGET_MIME not in o.get("data", {})
            ]
            if not cell.outputs:
                continue
        elif cell.cell_type == "raw":
            continue
        cells.append(cell)
    return cells


_CSS = """
<style>
  .wb-facts, .wb-headlines { border-collapse: collapse; margin: 0.5em 0 1.5em; }
  .wb-facts th, .wb-facts td, .wb-headlines td { padding: 0.2em 1em 0.2em 0; text-align: left; }
  .wb-facts th { font-weight: 600; }
  .wb-headlines { background: #f6f8fa; padding: 0.5em; }
  .wb-headlines caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
  .wb-headlines td { padding: 0.3em 1.5em 0.3em 0.5em; }
  .wb-skipped { color: #555; margin: 0 0 1.5em; }
  .wb-skipped p { margin: 0; }
  .wb-section { border-top: 1px solid #ddd; margin-top: 2.5em; padding-top: 0.5em; }
</style>
"""


def render_html(
    sections: Sequence[Section], facts: Sequence[tuple[str, str]], title: str = "Report"
) -> str:
    """Render the executed notebooks as one self-contained HTML page without code.

    Parameters
    ----------
    sections : sequence of Section
        The notebooks, in report order.
    facts : sequence of (label, value)
        Run facts shown in the header (scenario, seed, date, git revision, ...).
    title : str
        Page title.

    Returns
    -------
    str
        The HTML document.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    contents = "".join(
        f'<li><a href="#{_anchor(s.name)}">{html.escape(s.title)}</a></li>' for s in sections
    )
    header = (
        f"{_CSS}<h1>{html.escape(title)}</h1>\n{_table(facts, 'wb-facts')}\n"
        f"<h2>Contents</h2>\n<ol>{contents}</ol>"
    )
    cells = [nbformat.v4.new_markdown_cell(header)]
    for s in sections:
        heading = f'<h2 id="{_anchor(s.name)}">{html.escape(s.title)}</h2>'
        intro = f'<div class="wb-section"></div>\n{heading}'
        if s.headlines:
            intro += "\n" + _headline_table(s.headlines)
        if s.skipped:
            intro += "\n" + _skipped_list(s.skipped)
        cells.append(nbformat.v4.new_markdown_cell(intro))
        cells.extend(_clean_cells(s.notebook))
    merged = nbformat.v4.new_notebook(cells=cells)
    if sections:
        for key in ("kernelspec", "language_info"):
            if key in sections[0].notebook.metadata:
                merged.metadata[key] = copy.deepcopy(sections[0].notebook.metadata[key])

    c = Config()
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "remove_cell"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output", "remove_output"}
    body, _ = HTMLExporter(config=c).from_notebook_node(
        merged, resources={"metadata": {"name": title}}
    )
    return body
