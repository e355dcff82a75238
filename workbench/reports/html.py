"""One stakeholder page for a report run: every executed notebook, no code.

The executed notebooks are merged into one notebook (a header with the run facts, a contents
list and the summary: the recommended actions and what each notebook found, from the findings they
displayed, :mod:`workbench.findings`; then one section per notebook; the headline numbers stay in
the manifest, for comparing runs) and exported once
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

from workbench.findings import FINDING_MIME
from workbench.reports._record import HEADLINE_MIME, SKIPPED_MIME, TAKEAWAY_MIME, Headline

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
    findings : list of dict
        Its findings (:class:`workbench.findings.Finding` as dicts), for the summary.
    """

    name: str
    title: str
    notebook: Any
    headlines: Mapping[str, Headline] = field(default_factory=dict)
    skipped: Sequence[Mapping[str, str]] = field(default_factory=list)
    findings: Sequence[Mapping[str, Any]] = field(default_factory=list)


def _anchor(name: str, section: str | None = None) -> str:
    """The id of a notebook's part of the page, or of one section heading in it."""
    base = "nb-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name)
    if section is None:
        return base
    return base + "--" + re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")


def _table(rows: Sequence[tuple[str, str]], css: str) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{css}">{body}</table>'


def _skipped_list(skipped: Sequence[Mapping[str, str]]) -> str:
    items = "".join(
        f"<li>{html.escape(x.get('section', ''))}: {html.escape(x.get('reason', ''))}</li>"
        for x in skipped
    )
    return f'<div class="wb-skipped"><p>Not shown for this data:</p><ul>{items}</ul></div>'


_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_REMOVE_CELL = frozenset({"remove-cell", "remove_cell"})
_REMOVE_OUTPUT = frozenset({"remove-output", "remove_output"})


def _clean_cells(
    nb: Any, name: str = "", anchors: set[str] | None = None, alts: list[str] | None = None
) -> list[Any]:
    """The cells worth showing: no headline or finding bundles, no stderr, no empty code cells.

    Each heading gets an anchor (:func:`_anchor` of ``name`` and the heading), added to
    ``anchors``, so the summary can link to the section a finding comes from; each figure's
    caption (the prose before it: its first sentence, else the section heading) is appended to
    ``alts``, in page order, for the images' alt text.

    Interactive widgets are left out too: a static page cannot run them, and their text
    fallback (``VBox(children=...)``) means nothing to a reader. A section the notebook skipped
    (a code cell that displayed a :func:`~workbench.reports.skip` bundle) is left out with the
    prose right before it: the section's intro lists it instead.
    """
    cells: list[Any] = []
    prose = 0  # markdown cells kept since the last code cell: the prose of the coming section
    caption = ""
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _REMOVE_CELL:  # as nbconvert would, so that figures and captions line up
            continue
        if tags & _REMOVE_OUTPUT and cell.cell_type == "code":
            continue
        if cell.cell_type == "markdown":
            caption = _caption(cell.source) or caption
        if cell.cell_type == "code" and any(
            SKIPPED_MIME in o.get("data", {}) for o in cell.get("outputs", [])
        ):
            del cells[len(cells) - prose :]
            prose = 0
            continue
        prose = prose + 1 if cell.cell_type == "markdown" else 0
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            cell.source = _with_anchors(cell.source, name, anchors)
            cell.source = _HEADING.sub(r"##\1", cell.source)  # sections are h2: # -> ###
        elif cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                and HEADLINE_MIME not in o.get("data", {})
                and FINDING_MIME not in o.get("data", {})
                and TAKEAWAY_MIME not in o.get("data", {})  # linked at the top instead
                and _WIDGET_MIME not in o.get("data", {})
            ]
            if not cell.outputs:
                continue
            if alts is not None:
                alts += [caption for o in cell.outputs if "image/png" in o.get("data", {})]
        elif cell.cell_type == "raw":
            continue
        cells.append(cell)
    return cells


def _caption(source: str) -> str:
    """The caption a markdown cell gives the figures after it: its first sentence of prose, or
    its heading when it has no prose."""
    heading = ""
    prose = []
    for line in source.splitlines():
        m = re.match(r"^#{1,6}\s+(.*)", line)
        if m:
            heading = heading or m.group(1).strip()
        elif line.strip() and not line.lstrip().startswith(("<", "|", "-", "*", "```")):
            prose.append(line.strip())
    text = re.sub(r"[*_`]", "", " ".join(prose))
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0] if text else ""
    out = (f"{heading}: {first}" if heading and first else first or heading).strip()
    return out[:300]


def page_problems(page: str) -> list[str]:
    """What a reader would trip over in a rendered page: the same image twice, an image with
    nbconvert's default alt text, a notebook heading with nothing under it before the next one.

    Returns
    -------
    list of str
        One line per problem (empty: none found).
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    problems = []
    seen: dict[str, int] = {}
    for i, img in enumerate(soup.select("img")):
        src = str(img.get("src", ""))
        if src in seen:
            problems.append(f"image {i} repeats image {seen[src]}: {img.get('alt', '')[:80]!r}")
        seen.setdefault(src, i)
        alt = str(img.get("alt", "")).strip()
        if not alt or alt.startswith("No description has been provided"):
            problems.append(f"image {i} has no alt text")
    heads = soup.select(".jp-MarkdownOutput h3, .jp-MarkdownOutput h4")
    for h in heads:
        level = int(h.name[1])
        nxt = h.find_next(
            lambda t: (
                t.name in ("h1", "h2", "h3", "h4", "img", "table", "li", "pre")
                or (t.name == "p" and bool(t.get_text(strip=True)))
            )
        )
        if nxt is not None and nxt.name in ("h1", "h2", "h3", "h4") and int(nxt.name[1]) <= level:
            problems.append(f"section {h.get_text(strip=True).rstrip('¶')!r} is empty")
    return problems


def _with_anchors(source: str, name: str, anchors: set[str] | None) -> str:
    """``source`` with an ``<a id>`` before each heading (ids collected in ``anchors``)."""

    def add(m: re.Match[str]) -> str:
        anchor = _anchor(name, m.group(2))
        if anchors is not None:
            anchors.add(anchor)
        return f'{m.group(1)} <a id="{anchor}"></a>{m.group(2)}'

    return re.sub(r"^(#{1,4})\s+(.+?)\s*$", add, source, flags=re.MULTILINE)


def _summary(sections: Sequence[Section], anchors: set[str]) -> str:
    """The summary at the top: recommended actions, then what each notebook found, each linked
    to its section; findings marked unreliable are listed apart with the reason."""
    actions: list[tuple[int, int, str]] = []
    found, unsure = [], []
    for s in sections:
        items = []
        for f in s.findings:
            anchor = _anchor(s.name, str(f.get("section", "")))
            href = anchor if anchor in anchors else _anchor(s.name)
            link = f' <a href="#{href}">({html.escape(str(f.get("section", "")))})</a>'
            if not f.get("reliable", True):
                unsure.append(
                    f"<li>{html.escape(str(f['text']))} <em>Left out: "
                    f"{html.escape(str(f.get('caveat', '')))}.</em>{link}</li>"
                )
                continue
            items.append(f"<li>{html.escape(str(f['text']))}{link}</li>")
            if f.get("action"):
                text = f"{html.escape(str(f['action']))}{link}"
                actions.append((int(f.get("priority", 2)), len(actions), text))
        if items:
            found.append(f"<h4>{html.escape(s.title)}</h4><ul>{''.join(items)}</ul>")
    if not found and not unsure:
        return ""
    out = '<div class="wb-summary"><h2 id="summary">Summary: what should we do?</h2>'
    if actions:
        top = [t for _, _, t in sorted(actions)[:3]]
        out += "<h3>Recommended actions</h3><ol>" + "".join(f"<li>{t}</li>" for t in top)
        out += "</ol>"
    out += "<h3>What we found</h3>" + "".join(found)
    if unsure:
        out += "<h3>Not in this summary: estimates that failed their checks</h3><ul>"
        out += "".join(unsure) + "</ul>"
    return out + "</div>"


_CSS = """
<style>
  .wb-facts { border-collapse: collapse; margin: 0.5em 0 1.5em; }
  .wb-facts th, .wb-facts td { padding: 0.2em 1em 0.2em 0; text-align: left; }
  .wb-facts th { font-weight: 600; }
  .wb-skipped { color: #555; margin: 0 0 1.5em; }
  .wb-skipped p { margin: 0; }
  .wb-section { border-top: 1px solid #ddd; margin-top: 2.5em; padding-top: 0.5em; }
  .wb-summary { background: #f6f8fa; border-left: 4px solid #2a6f97; padding: 0.5em 1.5em 1em;
                margin: 1em 0 2em; max-width: 60em; }
  .wb-summary li { margin: 0.3em 0; }
</style>
"""


def render_html(
    sections: Sequence[Section],
    facts: Sequence[tuple[str, str]],
    title: str = "Report",
    files: Sequence[tuple[str, str]] = (),
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
    files : sequence of (name, caption)
        Take-away files beside the page (``segments.csv``, ``report.pdf``), linked at the top.

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
    header = f"{_CSS}<h1>{html.escape(title)}</h1>\n{_table(facts, 'wb-facts')}\n"
    toc = f"<h2>Contents</h2>\n<ol>{contents}</ol>"
    anchors: set[str] = set()
    alts: list[str] = []
    body_cells = []
    for s in sections:
        heading = f'<h2 id="{_anchor(s.name)}">{html.escape(s.title)}</h2>'
        intro = f'<div class="wb-section"></div>\n{heading}'
        if s.skipped:
            intro += "\n" + _skipped_list(s.skipped)
        body_cells.append(nbformat.v4.new_markdown_cell(intro))
        body_cells.extend(_clean_cells(s.notebook, s.name, anchors, alts))
    summary = _summary(sections, anchors)
    if files:
        items = "".join(
            f'<li><a href="{html.escape(n)}">{html.escape(n)}</a>: {html.escape(c)}</li>'
            for n, c in files
        )
        summary += f'<div class="wb-files"><h3>Take-away files</h3><ul>{items}</ul></div>'
    # the summary first: what a reader who reads nothing else needs
    cells = [nbformat.v4.new_markdown_cell(header + (summary + "\n" if summary else "") + toc)]
    cells += body_cells
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
    c.TagRemovePreprocessor.remove_cell_tags = set(_REMOVE_CELL)
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = set(_REMOVE_OUTPUT)
    body, _ = HTMLExporter(config=c).from_notebook_node(
        merged, resources={"metadata": {"name": title}}
    )
    return _finish_page(body, alts)


def _finish_page(body: str, alts: Sequence[str]) -> str:
    """A self-contained page: each figure's caption as its alt text (figures come in page
    order), and no script fetched from the network (nbconvert links require.js, MathJax and
    mermaid from a CDN; the page needs none of them, and opens offline without errors)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    for script in soup.find_all("script"):
        if str(script.get("src", "")).startswith("http") or "cdnjs.cloudflare.com" in (
            script.string or ""
        ):
            script.decompose()
    images = soup.select(".jp-RenderedImage img")
    if len(images) == len(alts):
        for img, alt in zip(images, alts, strict=True):
            img["alt"] = alt or "figure"
    return str(soup)
