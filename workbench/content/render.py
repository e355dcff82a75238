"""Render one email per segment from its chosen variants: an HTML part and a plain-text part.

The templates are Jinja2 files in ``workbench/content/templates``: ``email.html.j2`` (a
table-based email layout, one ``{% block %}`` per email block, each drawn by its macro in
``_blocks.html.j2``) and ``email.txt.j2`` (the plain-text part, same blocks,
``_blocks.txt.j2``), so a variant swaps without touching the rest of the email. The environment
escapes every value in the HTML templates (``autoescape`` for ``.html`` and ``.html.j2``; the
text part is not HTML and is not escaped) and refuses undefined names (``StrictUndefined``).

Pictures are placeholders drawn here as inline SVG (``data:`` URIs): the preview loads nothing
from the network and opens offline. A real send replaces them with the ESP's hosted images; the
alt text already describes the photo each stands for.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from workbench.content.blocks import BLOCKS, Catalogue, Variant, load_catalogue
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

#: The sender's name and the footer's links (reserved example domain, no real address).
BRAND = {
    "name": "Example Shop",
    "home": "https://shop.example.com/",
    "browser": "https://shop.example.com/email/preview",
    "preferences": "https://shop.example.com/preferences",
    "unsubscribe": "https://shop.example.com/unsubscribe",
    "address": "Example Shop, 1 Example Street, Exampletown",
}

# ------------------------------------------------------------------------------- pictures

_MOTIFS: dict[str, str] = {
    # each drawn in a 100 x 100 box, with {fg} the light colour and {bg} the dark one
    "boxes": '<rect x="18" y="44" width="30" height="30" rx="3" fill="{fg}"/>'
    '<rect x="52" y="34" width="30" height="40" rx="3" fill="{fg}" opacity=".8"/>'
    '<rect x="34" y="22" width="24" height="22" rx="3" fill="{fg}" opacity=".6"/>',
    "tag": '<path d="M30 20h32l18 30-18 30H30z" fill="{fg}"/>'
    '<circle cx="40" cy="50" r="6" fill="{bg}"/>',
    "leaf": '<path d="M50 14C78 26 84 62 50 86 16 62 22 26 50 14z" fill="{fg}"/>'
    '<path d="M50 22v60" stroke="{bg}" stroke-width="3"/>',
    "sun": '<circle cx="50" cy="50" r="20" fill="{fg}"/>'
    '<g stroke="{fg}" stroke-width="5" stroke-linecap="round">'
    '<path d="M50 12v10M50 78v10M12 50h10M78 50h10M23 23l7 7M70 70l7 7M23 77l7-7M70 30l7-7"/>'
    "</g>",
    "chat": '<rect x="14" y="20" width="48" height="32" rx="8" fill="{fg}"/>'
    '<rect x="38" y="48" width="48" height="32" rx="8" fill="{fg}" opacity=".7"/>',
    "screen": '<rect x="16" y="22" width="68" height="46" rx="4" fill="{fg}"/>'
    '<path d="M44 34l16 11-16 11z" fill="{bg}"/><rect x="36" y="72" width="28" height="5" '
    'rx="2" fill="{fg}"/>',
    "fold": '<rect x="20" y="30" width="60" height="14" rx="3" fill="{fg}"/>'
    '<rect x="20" y="46" width="60" height="14" rx="3" fill="{fg}" opacity=".8"/>'
    '<rect x="20" y="62" width="60" height="14" rx="3" fill="{fg}" opacity=".6"/>',
    "bag": '<path d="M24 40h52l-6 42H30z" fill="{fg}"/>'
    '<path d="M38 40c0-16 24-16 24 0" fill="none" stroke="{fg}" stroke-width="5"/>',
    "shirt": '<path d="M36 20l-20 12 8 14 8-4v38h36V42l8 4 8-14-20-12c-2 8-26 8-28 0z" '
    'fill="{fg}"/>',
    "hat": '<path d="M24 64c0-30 52-30 52 0z" fill="{fg}"/>'
    '<rect x="20" y="62" width="60" height="10" rx="4" fill="{fg}" opacity=".8"/>',
    "mug": '<rect x="26" y="30" width="38" height="44" rx="6" fill="{fg}"/>'
    '<path d="M64 40h6a10 10 0 0 1 0 20h-6" fill="none" stroke="{fg}" stroke-width="5"/>',
    "table": '<ellipse cx="50" cy="36" rx="32" ry="9" fill="{fg}"/>'
    '<rect x="46" y="40" width="8" height="36" fill="{fg}"/>'
    '<rect x="32" y="74" width="36" height="6" rx="3" fill="{fg}"/>',
    "card": '<rect x="18" y="30" width="64" height="40" rx="6" fill="{fg}"/>'
    '<rect x="18" y="40" width="64" height="8" fill="{bg}" opacity=".5"/>',
    "glasses": '<circle cx="34" cy="52" r="13" fill="{fg}"/><circle cx="66" cy="52" r="13" '
    'fill="{fg}"/><path d="M47 50h6" stroke="{fg}" stroke-width="4"/>',
    "drop": '<path d="M50 16C66 40 72 52 72 62a22 22 0 0 1-44 0c0-10 6-22 22-46z" fill="{fg}"/>',
    "chair": '<rect x="30" y="20" width="40" height="30" rx="4" fill="{fg}"/>'
    '<rect x="26" y="50" width="48" height="8" rx="3" fill="{fg}"/>'
    '<path d="M32 58l-6 24M68 58l6 24" stroke="{fg}" stroke-width="5"/>',
    "bottle": '<rect x="40" y="14" width="20" height="10" rx="2" fill="{fg}"/>'
    '<rect x="34" y="24" width="32" height="62" rx="10" fill="{fg}"/>',
}
#: The motifs a variant's ``art`` may name.
MOTIFS: tuple[str, ...] = tuple(_MOTIFS)


def placeholder_image(art: Mapping[str, Any], width: int, height: int) -> str:
    """A placeholder picture as an SVG ``data:`` URI: a motif on a two-colour background.

    Parameters
    ----------
    art : mapping
        ``{"motif": one of MOTIFS, "colors": [dark, light]}``.
    width, height : int
        Size in pixels (the motif is centred and scaled to fit).

    Returns
    -------
    str
        ``data:image/svg+xml,...`` (URL-encoded, so it survives HTML attributes).

    Raises
    ------
    WorkbenchError
        Unknown motif or colours that are not two ``#rrggbb`` values.
    """
    motif = art.get("motif")
    colors = art.get("colors")
    if motif not in _MOTIFS:
        raise WorkbenchError(f"unknown picture motif {motif!r} (motifs: {', '.join(MOTIFS)})")
    if (
        not isinstance(colors, list | tuple)
        or len(colors) != 2
        or not all(isinstance(c, str) and len(c) == 7 and c.startswith("#") for c in colors)
    ):
        raise WorkbenchError(f"picture colours must be two '#rrggbb' values, got {colors!r}")
    bg, fg = colors
    size = min(width, height) * 0.8
    x, y = (width - size) / 2, (height - size) / 2
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{bg}"/><stop offset="1" stop-color="{bg}" '
        f'stop-opacity=".82"/></linearGradient></defs>'
        f'<rect width="{width}" height="{height}" fill="url(#g)"/>'
        f'<circle cx="{width * 0.12:.0f}" cy="{height * 0.2:.0f}" r="{size * 0.18:.0f}" '
        f'fill="{fg}" opacity=".15"/>'
        f'<circle cx="{width * 0.9:.0f}" cy="{height * 0.85:.0f}" r="{size * 0.3:.0f}" '
        f'fill="{fg}" opacity=".12"/>'
        f'<g transform="translate({x:.1f} {y:.1f}) scale({size / 100:.3f})">'
        + _MOTIFS[motif].format(fg=fg, bg=bg)
        + "</g></svg>"
    )
    return "data:image/svg+xml," + quote(svg.replace('"', "'"), safe="/:=,.-()'")


# ------------------------------------------------------------------------------ rendering


@dataclass
class Email:
    """One rendered email.

    Attributes
    ----------
    subject : str
    preheader : str
        The preview text inbox lists show after the subject.
    html : str
        The HTML part (a complete document).
    text : str
        The plain-text part.
    segment_name : str
        The segment it is for.
    variants : dict of str to str
        Block -> chosen variant id.
    """

    subject: str
    preheader: str
    html: str
    text: str
    segment_name: str = ""
    variants: dict[str, str] = field(default_factory=dict)


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the email templates (autoescaped HTML, strict names)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("workbench.content", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _chosen(choices: pd.DataFrame | Mapping[str, str], catalogue: Catalogue) -> dict[str, Variant]:
    """Block -> variant from a choose table of one segment or a mapping block -> variant id."""
    if isinstance(choices, Mapping):
        ids = dict(choices)
    else:
        if not {"block", "variant"} <= set(choices.columns):
            raise WorkbenchError("choices need the columns block and variant (choose_content)")
        if "segment" in choices.columns and choices["segment"].nunique() > 1:
            raise WorkbenchError("render_email takes the choices of one segment")
        ids = dict(zip(choices["block"].astype(str), choices["variant"].astype(str), strict=True))
    missing = [b for b in BLOCKS if b not in ids]
    if missing:
        raise WorkbenchError(f"no variant chosen for the block(s) {', '.join(missing)}")
    out = {}
    for b in BLOCKS:
        v = catalogue[b].variant(ids[b])
        out[b] = v
    return out


def _context(variants: Mapping[str, Variant], segment_name: str) -> dict[str, Any]:
    hero = dict(variants["hero"].content)
    hero["image"] = placeholder_image(hero["art"], 600, 260)
    recs = dict(variants["recommendations"].content)
    recs["items"] = [
        {**it, "image": placeholder_image(it["art"], 160, 160)} for it in recs["items"]
    ]
    return {
        "brand": BRAND,
        "segment_name": segment_name,
        "subject": variants["subject"].content["text"],
        "preheader": variants["preheader"].content["text"],
        "hero": hero,
        "cta": variants["cta"].content,
        "proof": variants["proof"].content,
        "recommendations": recs,
        "variants": {b: v.id for b, v in variants.items()},
    }


def render_email(
    choices: pd.DataFrame | Mapping[str, str],
    segment_name: str = "",
    *,
    catalogue: Catalogue | None = None,
) -> Email:
    """Render the email of one segment from the variant chosen for each block.

    Parameters
    ----------
    choices : DataFrame or mapping
        The rows of one segment of :func:`~workbench.content.choose.choose_content` (columns
        ``block, variant``), or a mapping block -> variant id.
    segment_name : str, optional
        Written (escaped) into the HTML part's ``x-preview-segment`` meta tag, for whoever
        reviews the preview; never in what a reader sees.
    catalogue : Catalogue, optional
        The variant library (default: the package's).

    Returns
    -------
    Email

    Raises
    ------
    WorkbenchError
        A block has no chosen variant, or a variant id is not in the library.
    """
    catalogue = catalogue or load_catalogue()
    variants = _chosen(choices, catalogue)
    ctx = _context(variants, str(segment_name))
    env = environment()
    page = env.get_template("email.html.j2").render(**ctx)
    text = env.get_template("email.txt.j2").render(**ctx)
    return Email(
        subject=ctx["subject"],
        preheader=ctx["preheader"],
        html=page,
        text=text,
        segment_name=str(segment_name),
        variants=ctx["variants"],
    )
