"""Compose the emails of a segmentation: previews, the ESP mapping and an index page.

:func:`preview_emails` chooses the variant of every block for every segment
(:func:`~workbench.content.choose.choose_content`), renders each segment's email
(:func:`~workbench.content.render.render_email`), checks it
(:func:`~workbench.content.accessibility.check_email`) and maps every subscriber who can still be
emailed to the variants of their segment. :func:`compose` writes it all into a folder, which the
command line's ``workbench compose`` calls:

- ``previews/<segment>.html`` and ``previews/<segment>.txt``: each segment's email, its HTML part
  and its plain-text part (after a ``Subject:`` line);
- ``variants.csv``: one row per subscriber, ``subscriber_id, segment, subject, preheader, hero,
  cta, proof, recommendations`` (variant ids), as an ESP import takes it;
- ``choices.csv``: the choose table (variant, source, certainty and reason per segment × block);
- ``accessibility.csv``: ``segment, problem`` (a header only when there is none);
- ``index.html``: every preview side by side with the reason for each choice;
- ``compose.json``: the settings and counts (and the mark of a compose folder, which only
  ``overwrite`` replaces).

Only subscribers who can still be emailed as of the as-of date (email consent, not unsubscribed,
not bounced: the feature ``email_reachable``) are mapped; the others are counted in
``excluded``, and a segment none of whose subscribers can be emailed gets no preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.content.accessibility import check_email
from workbench.content.blocks import BLOCKS, Catalogue
from workbench.content.choose import choose_content, segment_table, slug
from workbench.content.render import Email, render_email
from workbench.content.widgets import side_by_side_html
from workbench.errors import DataError, WorkbenchError
from workbench.schema import World

#: The file that marks a folder as written by :func:`compose`.
MARKER = "compose.json"
#: Columns of ``variants.csv``.
VARIANT_COLUMNS: tuple[str, ...] = ("subscriber_id", "segment", *BLOCKS)


@dataclass
class ComposeResult:
    """The emails of a segmentation and what goes with them.

    Attributes
    ----------
    choices : DataFrame
        The choose table of the emailed segments (:func:`choose_content`).
    emails : dict
        Segment -> :class:`~workbench.content.render.Email`.
    variants : DataFrame
        One row per reachable subscriber (:data:`VARIANT_COLUMNS`).
    accessibility : DataFrame
        ``segment, problem``.
    excluded : int
        Subscribers of the segments who cannot be emailed (or had not signed up by the as-of
        date), left out of ``variants``.
    not_emailed : list
        Segments without any reachable subscriber (no preview).
    meta : dict
        Segment -> a line on its size (``"303 subscribers, 276 reachable by email"``).
    settings : dict
        What produced it (as-of date, thresholds, counts).
    files : dict
        Segment -> preview file stem (``previews/<stem>.html``).
    names : dict
        Segment -> name, for every segment of the input.
    """

    choices: pd.DataFrame
    emails: dict[Any, Email]
    variants: pd.DataFrame
    accessibility: pd.DataFrame
    excluded: int
    not_emailed: list[Any] = field(default_factory=list)
    meta: dict[Any, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    files: dict[Any, str] = field(default_factory=dict)
    names: dict[Any, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------- segments in


def _rows(df: pd.DataFrame, mask: np.ndarray, cols: list[str]) -> tuple[int, list[str]]:
    from workbench._read import row_labels
    from workbench.errors import show

    idx = np.flatnonzero(mask)
    labels = row_labels(df, idx[:5])
    ex = [
        f"{lab} ({', '.join(f'{c}={show(df[c].iloc[i])}' for c in cols)})"
        for lab, i in zip(labels, idx[:5], strict=True)
    ]
    return len(idx), ex


def _whole_ids(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Ids as int64, exactly (an imported world's hashed ids exceed float64's 2**53), and the
    mask of values that are not whole numbers."""
    text = raw.astype("string").str.strip()
    digits = text.str.fullmatch(r"[+-]?\d{1,19}").fillna(False).to_numpy(bool)
    big = np.zeros(len(raw), dtype=bool)
    whole_text = [int(v) for v in text[digits]]
    big[np.flatnonzero(digits)] = [abs(v) > 2**63 - 1 for v in whole_text]
    ids = np.zeros(len(raw), dtype="int64")
    ids[digits & ~big] = [v for v in whole_text if abs(v) <= 2**63 - 1]
    rest = pd.to_numeric(text[~digits], errors="coerce").to_numpy("float64", na_value=np.nan)
    whole = np.isfinite(rest) & (rest == np.round(rest)) & (np.abs(rest) < 2**53)
    ids[~digits] = np.where(whole, rest, 0).astype("int64")
    bad = big.copy()
    bad[~digits] = ~whole
    return ids, bad


def check_segments(
    df: pd.DataFrame, source: str, known_ids: pd.Index | np.ndarray | None = None, where: str = ""
) -> pd.DataFrame:
    """Check a segments table and return ``subscriber_id, segment, segment_name``.

    Parameters
    ----------
    df : DataFrame
        As read from the file (``workbench segment`` writes ``subscriber_id, segment,
        segment_name``).
    source : str
        The file, for messages.
    known_ids : array-like, optional
        The world's subscriber ids: any other id is an error.
    where : str
        The world, for messages.

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        A missing column, ids that are missing, not whole numbers or repeated, missing segments,
        subscribers not in the world: one line naming the file, the column and the first rows.
    """
    for col in ("subscriber_id", "segment"):
        if col not in df.columns:
            have = ", ".join(map(str, df.columns)) or "none"
            raise DataError(source, col, f"column not found (columns are: {have})")
    if len(df) == 0:
        raise DataError(source, None, "no rows")
    ids, bad = _whole_ids(df["subscriber_id"])
    if bad.any():
        n, ex = _rows(df, bad, ["subscriber_id"])
        raise DataError(source, "subscriber_id", "values that are not subscriber ids", n, ex)
    dup = pd.Series(ids).duplicated(keep="first").to_numpy()
    if dup.any():
        n, ex = _rows(df, dup, ["subscriber_id"])
        raise DataError(source, "subscriber_id", "repeated subscriber ids", n, ex)
    miss = df["segment"].isna().to_numpy() | (df["segment"].astype(str).str.strip() == "")
    if miss.any():
        n, ex = _rows(df, np.asarray(miss), ["subscriber_id", "segment"])
        raise DataError(source, "segment", "missing segments", n, ex)
    if known_ids is not None:
        unknown = ~np.isin(ids, np.asarray(known_ids, dtype="int64"))
        if unknown.any():
            n, ex = _rows(df, unknown, ["subscriber_id"])
            raise DataError(source, "subscriber_id", f"subscribers not in the world {where}", n, ex)
    out = df.assign(subscriber_id=ids)
    return segment_table(out)


def read_segments(path: str | Path, world: str | Path | World | None = None) -> pd.DataFrame:
    """Read a segments file (CSV or Parquet, as ``workbench segment --out`` writes it).

    Parameters
    ----------
    path : path
        ``.csv``, ``.csv.gz`` or ``.parquet``.
    world : path or World, optional
        When given, every subscriber must be one of its subscribers.

    Returns
    -------
    DataFrame
        ``subscriber_id, segment, segment_name``.

    Raises
    ------
    WorkbenchError
        No such file or an unknown type.
    DataError
        See :func:`check_segments`.
    """
    from workbench._read import is_csv, read_any

    p = Path(path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: no such file")
    if not (is_csv(p) or p.name.lower().endswith((".parquet", ".pq"))):
        raise WorkbenchError(f"{p}: unknown file type (use .csv, .csv.gz or .parquet)")
    df = read_any(p)
    known, where = None, ""
    if world is not None:
        known, where = _subscriber_ids(world)
    return check_segments(df, str(p), known, where)


def _subscriber_ids(world: str | Path | World) -> tuple[np.ndarray, str]:
    from workbench.schema import load_world

    if not isinstance(world, World):
        world = load_world(world, tables=["subscribers"])
    return world["subscribers"]["subscriber_id"].to_numpy("int64"), str(world.path)


# ------------------------------------------------------------------------------ composing


def preview_emails(
    world: str | Path | World,
    segments: str | Path | pd.DataFrame | pd.Series,
    *,
    as_of: str | pd.Timestamp | None = None,
    min_certainty: float = 0.8,
    min_recipients: int = 100,
    tests: bool | pd.DataFrame = True,
    catalogue: Catalogue | None = None,
) -> ComposeResult:
    """Choose, render and check the email of every segment, and map subscribers to variants.

    Parameters
    ----------
    world : path or World
        The world the segments come from.
    segments : path, DataFrame or Series
        A segments file (:func:`read_segments`), or a table / Series
        (:func:`~workbench.content.choose.segment_table`).
    as_of : str or Timestamp, optional
        Features, tests and reachability as of this date (default: the end of the history).
    min_certainty : float, default 0.8
        P(best) a test's leader needs to decide a block in a segment.
    min_recipients : int, default 100
        Recipients a test needs in a segment to decide for it.
    tests : bool or DataFrame, default True
        See :func:`~workbench.content.choose.choose_content`.
    catalogue : Catalogue, optional
        The variant library.

    Returns
    -------
    ComposeResult

    Raises
    ------
    DataError
        A bad segments file, or subscribers not in the world.
    """
    from workbench.features import compute_features

    if isinstance(segments, str | Path):
        seg = read_segments(segments, world)
    else:
        known, where = _subscriber_ids(world)
        frame = segments if isinstance(segments, pd.DataFrame) else segment_table(segments)
        seg = check_segments(frame, "<segments>", known, where)
    features = compute_features(world, as_of=as_of)
    stamp = str(features.attrs.get("as_of", as_of))
    reach = features["email_reachable"].reindex(seg["subscriber_id"]).fillna(0).to_numpy() == 1
    emailed = seg.loc[reach]
    choices = choose_content(
        world,
        seg,
        as_of=stamp,
        tests=tests,
        min_certainty=min_certainty,
        min_recipients=min_recipients,
        features=features,
        catalogue=catalogue,
    )
    live = list(pd.unique(emailed["segment"]))
    choices = choices.loc[choices["segment"].isin(live)].reset_index(drop=True)
    names = seg.drop_duplicates("segment").set_index("segment")["segment_name"].to_dict()
    emails: dict[Any, Email] = {}
    problems = []
    for s, part in choices.groupby("segment", sort=False):
        email = render_email(part, names[s], catalogue=catalogue)
        emails[s] = email
        problems += [(s, p) for p in check_email(email)]
    wide = choices.pivot(index="segment", columns="block", values="variant")
    variants = emailed[["subscriber_id", "segment"]].join(wide, on="segment")
    variants = variants.sort_values("subscriber_id", kind="stable").reset_index(drop=True)
    sizes = seg.groupby("segment", sort=False).size()
    reach_sizes = emailed.groupby("segment", sort=False).size()
    meta = {
        s: f"{int(sizes[s]):,} subscribers, {int(reach_sizes.get(s, 0)):,} reachable by email"
        for s in sizes.index
    }
    files: dict[Any, str] = {}
    for s in emails:
        stem = slug(f"{s}-{names[s]}")
        while stem in files.values():
            stem += "-x"
        files[s] = stem
    settings = {
        "as_of": stamp,
        "min_certainty": float(min_certainty),
        "min_recipients": int(min_recipients),
        "tests": bool(tests) if not isinstance(tests, pd.DataFrame) else "given",
        "n_segments": int(seg["segment"].nunique()),
        "emailed_segments": len(emails),
        "subscribers": len(seg),
        "mapped": len(variants),
        "excluded": int(len(seg) - len(variants)),
        "accessibility_problems": len(problems),
    }
    return ComposeResult(
        choices=choices,
        emails=emails,
        variants=variants[list(VARIANT_COLUMNS)],
        accessibility=pd.DataFrame(problems, columns=["segment", "problem"]),
        excluded=int(len(seg) - len(variants)),
        not_emailed=[s for s in sizes.index if s not in emails],
        meta=meta,
        settings=settings,
        files=files,
        names=names,
    )


_PAGE_CSS = """
body { margin: 0; background: #f7f6f3; font-family: Helvetica, Arial, sans-serif; color: #222; }
main { max-width: 1600px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 6px; font-size: 26px; }
.wb-facts { margin: 0 0 20px; color: #444; font-size: 14px; line-height: 1.5; }
.wb-foot { margin-top: 28px; font-size: 14px; line-height: 1.5; }
.wb-foot h2 { font-size: 18px; margin: 18px 0 6px; }
"""


def index_page(result: ComposeResult, title: str = "Email previews per segment") -> str:
    """The ``index.html`` of a compose folder: every preview side by side, with the reasons.

    Parameters
    ----------
    result : ComposeResult
    title : str
        The page's title.

    Returns
    -------
    str
        A complete HTML document that loads nothing from the network.
    """
    from html import escape

    s = result.settings
    when = str(s.get("as_of", ""))
    when = when.removesuffix("T00:00:00+00:00")
    facts = (
        f"As of {escape(when)}: {s.get('emailed_segments', 0)} segments "
        f"emailed, {s.get('mapped', 0):,} subscribers mapped to variants, "
        f"{s.get('excluded', 0):,} left out (not reachable by email). A test decides a block "
        f"when its leading arm's probability to be best reaches "
        f"{float(s.get('min_certainty', 0.8)):.2f} with at least "
        f"{int(s.get('min_recipients', 100)):,} recipients in the segment."
    )
    links = []
    for k, stem in result.files.items():
        name = escape(str(result.emails[k].segment_name))
        links.append(
            f'<li><a href="previews/{escape(stem)}.html">Email of {name}</a> '
            f'(<a href="previews/{escape(stem)}.txt">plain-text part of {name}</a>)</li>'
        )
    links = "".join(links)
    foot = f"<h2>The previews as files</h2><ul>{links}</ul>" if links else ""
    if result.not_emailed:
        names = "; ".join(
            escape(f"segment {x}, {result.names.get(x, '')} ({result.meta.get(x, '')})")
            for x in result.not_emailed
        )
        foot += (
            f"<h2>Segments not emailed</h2><p>No subscriber of these segments can be emailed: "
            f"{names}.</p>"
        )
    n_prob = len(result.accessibility)
    foot += "<h2>Accessibility</h2><p>" + (
        "Every preview passed the checks (alt text, link text, language, title, plain-text part)."
        if n_prob == 0
        else f"{n_prob} problems found: see accessibility.csv."
    )
    foot += "</p>"
    body = side_by_side_html(result)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n<body><main>"
        f"<h1>{escape(title)}</h1><p class='wb-facts'>{facts}</p>{body}"
        f"<div class='wb-foot'>{foot}</div></main></body>\n</html>\n"
    )


def write_folder(result: ComposeResult, tmp: Path, marker: Mapping[str, Any]) -> None:
    """Write a compose result into a (temporary) folder: the files of the module docstring."""
    previews = tmp / "previews"
    previews.mkdir()
    for s, email in result.emails.items():
        stem = result.files[s]
        (previews / f"{stem}.html").write_text(email.html, encoding="utf-8")
        text = f"Subject: {email.subject}\n\n{email.text}"
        (previews / f"{stem}.txt").write_text(text, encoding="utf-8")
    result.variants.to_csv(tmp / "variants.csv", index=False, lineterminator="\n")
    result.choices.to_csv(
        tmp / "choices.csv", index=False, lineterminator="\n", float_format="%.4f"
    )
    result.accessibility.to_csv(tmp / "accessibility.csv", index=False, lineterminator="\n")
    (tmp / "index.html").write_text(index_page(result), encoding="utf-8")
    (tmp / MARKER).write_text(json.dumps(dict(marker), indent=2, default=str) + "\n")


def compose(
    world: str | Path | World,
    segments: str | Path | pd.DataFrame | pd.Series,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    flag: str = "overwrite=True",
    **options: Any,
) -> ComposeResult:
    """Compose the emails of a segmentation and write them into ``out_dir`` (module docstring).

    ``out_dir`` appears only once complete (:func:`workbench._io.atomic_dir`); it may not be,
    hold or lie inside an input; an existing non-empty folder is replaced only with
    ``overwrite`` and only when it is an earlier compose folder (it holds ``compose.json``).

    Parameters
    ----------
    world : path or World
    segments : path, DataFrame or Series
        See :func:`preview_emails`.
    out_dir : path
        The folder to write.
    overwrite : bool, default False
        Replace an earlier compose folder.
    flag : str, default "overwrite=True"
        How the caller spells ``overwrite`` in messages (the command line: ``--overwrite``).
    **options
        Passed to :func:`preview_emails` (``as_of``, ``min_certainty``, ...).

    Returns
    -------
    ComposeResult

    Raises
    ------
    WorkbenchError
        The output breaks the output rules, or the inputs are bad.
    """
    from workbench._io import atomic_dir, check_not_input, check_output_dir

    inputs: dict[str, Any] = {"world": getattr(world, "path", world)}
    if isinstance(segments, str | Path):
        inputs["segments"] = segments
    check_not_input(out_dir, inputs, replaces_folder=True)
    check_output_dir(out_dir, overwrite=overwrite, marker=MARKER, kind="compose folder", flag=flag)
    result = preview_emails(world, segments, **options)
    marker = {
        "world": str(inputs["world"]),
        "segments": str(inputs.get("segments", "<table>")),
        **result.settings,
    }
    with atomic_dir(
        out_dir, overwrite, marker=MARKER, kind="compose folder", flag=flag
    ) as tmp:  # fmt: skip
        write_folder(result, tmp, marker)
    return result
