"""The variant library: six email blocks, their variants, and the conditions each variant suits.

The library is declarative: ``workbench/content/blocks.toml`` (read once, checked on the way in)
lists the blocks in the order they appear in an email (:data:`BLOCKS`: subject line, preheader,
hero, call to action, proof row, recommendations) and, for each, its variants. A variant has an
id (what an ESP import gets), a short label, what it says (subject or preheader text; the hero's
headline, body, picture and alt text; the call to action's label and link; the proof row's
figures; the recommended products), and the conditions it suits:

- ``arms``: the test arms it stands for (``control`` is the usual version), so that a test's
  winner in a segment maps to a variant;
- ``categories``: the content categories of the campaigns (``new_arrivals``, ``deals``, ...);
- ``products``: the product categories of the orders (``home``, ``outdoor``, ...);
- ``lifecycle``: the lifecycle stages of :data:`workbench.segment.rules.LIFECYCLE_STAGES`.

Each block names the rules that choose among its variants when no test decides (``rules``:
``affinity`` and/or ``lifecycle``) and the words that mark a test (or a factorial test's factor)
as being about it (``tests``: ``subject``, ``offer``, ``image``, ``cta``, ...). Exactly one
variant per block is the default. Links point only to reserved example domains and no variant
carries personal data. :func:`load_catalogue` reads another library in the same format.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

#: The blocks of an email, in the order they appear.
BLOCKS: tuple[str, ...] = ("subject", "preheader", "hero", "cta", "proof", "recommendations")
#: The rules that may choose a variant when no test decides.
RULES: tuple[str, ...] = ("affinity", "lifecycle")
#: What each block's variants must say (beyond ``id`` and ``label``).
FIELDS: dict[str, tuple[str, ...]] = {
    "subject": ("text",),
    "preheader": ("text",),
    "hero": ("headline", "body", "alt", "art"),
    "cta": ("text", "url"),
    "proof": ("title", "items"),
    "recommendations": ("title", "items"),
}
#: What each item of a proof row or a recommendations block must say.
ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "proof": ("figure", "caption"),
    "recommendations": ("name", "price", "url", "alt", "art"),
}
#: Links may only point to the reserved example domains (RFC 2606).
SAFE_URL = re.compile(r"^https://([a-z0-9-]+\.)*example\.(com|org|net)(/[^\s\"'<>]*)?$")
DEFAULT_LIBRARY = Path(__file__).with_name("blocks.toml")
_CONDITIONS = ("arms", "categories", "products", "lifecycle")


@dataclass(frozen=True)
class Variant:
    """One version of a block.

    Attributes
    ----------
    id : str
        Identifier written to the ESP mapping (``subject_urgency``).
    block : str
        The block it belongs to (:data:`BLOCKS`).
    label : str
        A short name marketers read (``urgency``).
    content : dict
        What it says: the block's :data:`FIELDS`.
    default : bool
        Whether it is the block's fallback.
    arms, categories, products, lifecycle : tuple of str
        The conditions it suits (see the module docstring).
    """

    id: str
    block: str
    label: str
    content: dict[str, Any] = field(hash=False, compare=False)
    default: bool = False
    arms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    lifecycle: tuple[str, ...] = ()

    def urls(self) -> list[str]:
        """Every link of the variant (the call to action's, the recommended products')."""
        found = [self.content["url"]] if "url" in self.content else []
        found += [it["url"] for it in self.content.get("items", []) if "url" in it]
        return found


@dataclass(frozen=True)
class Block:
    """One block of the email and its variants.

    Attributes
    ----------
    name : str
        ``subject``, ``preheader``, ``hero``, ``cta``, ``proof`` or ``recommendations``.
    title : str
        How reasons name it (``subject line``).
    rules : tuple of str
        The rules that choose a variant when no test decides, in order (:data:`RULES`).
    tests : tuple of str
        Words that mark a test or a factor as being about this block.
    variants : tuple of Variant
    """

    name: str
    title: str
    rules: tuple[str, ...]
    tests: tuple[str, ...]
    variants: tuple[Variant, ...]

    @property
    def default(self) -> Variant:
        """The fallback variant."""
        return next(v for v in self.variants if v.default)

    def variant(self, variant_id: str) -> Variant:
        """The variant with this id.

        Raises
        ------
        WorkbenchError
            When the block has no such variant.
        """
        for v in self.variants:
            if v.id == variant_id:
                return v
        have = ", ".join(v.id for v in self.variants)
        raise WorkbenchError(f"block '{self.name}' has no variant '{variant_id}' (have: {have})")

    def matching(self, condition: str, value: str) -> Variant | None:
        """The first variant whose ``condition`` (``arms``, ``categories``, ...) holds ``value``."""
        for v in self.variants:
            if value in getattr(v, condition):
                return v
        return None

    def is_about(self, text: str) -> bool:
        """Whether a test's topic or factor name (``"subject line"``, ``"image"``) names it."""
        low = text.lower().replace("_", " ")
        return any(re.search(rf"\b{re.escape(word)}", low) for word in self.tests)


@dataclass(frozen=True)
class Catalogue:
    """The variant library: the blocks in email order (a mapping block name -> :class:`Block`).

    Attributes
    ----------
    blocks : dict of str to Block
    source : str
        The file it was read from.
    """

    blocks: dict[str, Block] = field(hash=False)
    source: str = str(DEFAULT_LIBRARY)

    def __getitem__(self, name: str) -> Block:
        return self.blocks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    def variant(self, variant_id: str) -> Variant:
        """The variant with this id, whichever block holds it."""
        for b in self.blocks.values():
            for v in b.variants:
                if v.id == variant_id:
                    return v
        raise WorkbenchError(f"{self.source}: no variant '{variant_id}'")

    def block_for(self, topic: str) -> Block | None:
        """The block a test's topic or factor name is about (``None``: none, or several)."""
        found = [b for b in self.blocks.values() if b.is_about(topic)]
        return found[0] if len(found) == 1 else None


def _texts(value: Any, where: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise WorkbenchError(f"{source}: {where} must be a list of non-empty strings")
    return tuple(value)


def _check_text(value: Any, where: str, source: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_text(v, f"{where}.{k}", source)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_text(v, f"{where}[{i}]", source)
    elif isinstance(value, str):
        if not value.strip():
            raise WorkbenchError(f"{source}: {where} is empty")
        if where.endswith("url") and not SAFE_URL.match(value):
            raise WorkbenchError(
                f"{source}: {where} = {value!r} is not an https link on a reserved example "
                "domain (example.com, example.org, example.net)"
            )
        if "@" in value and not where.endswith("url"):
            raise WorkbenchError(f"{source}: {where} looks like an email address; no personal data")


def _variant(block: str, raw: Mapping[str, Any], source: str, stages: tuple[str, ...]) -> Variant:
    vid = raw.get("id")
    if not isinstance(vid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", vid):
        raise WorkbenchError(
            f"{source}: a {block} variant has no id of lower-case letters ({vid!r})"
        )
    where = f"{block} variant '{vid}'"
    known = {"id", "label", "default", *_CONDITIONS, *FIELDS[block]}
    extra = sorted(set(raw) - known)
    if extra:
        raise WorkbenchError(f"{source}: {where} has unknown keys {', '.join(extra)}")
    missing = [k for k in ("label", *FIELDS[block]) if k not in raw]
    if missing:
        raise WorkbenchError(f"{source}: {where} lacks {', '.join(missing)}")
    content = {k: raw[k] for k in FIELDS[block]}
    _check_text({"label": raw["label"], **content}, where, source)
    if block in ITEM_FIELDS:
        items = raw["items"]
        if not isinstance(items, list) or not items:
            raise WorkbenchError(f"{source}: {where}: items must be a non-empty list")
        for i, it in enumerate(items):
            lack = [k for k in ITEM_FIELDS[block] if not isinstance(it, dict) or k not in it]
            if lack:
                raise WorkbenchError(f"{source}: {where}: item {i + 1} lacks {', '.join(lack)}")
    conds = {c: _texts(raw.get(c, []), f"{where}.{c}", source) for c in _CONDITIONS}
    bad = [s for s in conds["lifecycle"] if s not in stages]
    if bad:
        raise WorkbenchError(
            f"{source}: {where}: unknown lifecycle stage {bad[0]!r} (stages: {', '.join(stages)})"
        )
    default = raw.get("default", False)
    if not isinstance(default, bool):
        raise WorkbenchError(f"{source}: {where}: default must be true or false")
    return Variant(vid, block, str(raw["label"]), content, default, **conds)


def parse_catalogue(data: Mapping[str, Any], source: str = "<catalogue>") -> Catalogue:
    """Check a parsed variant library (the TOML format of ``blocks.toml``) and build it.

    Parameters
    ----------
    data : mapping
        One table per block of :data:`BLOCKS`.
    source : str
        Name of the library in messages.

    Returns
    -------
    Catalogue

    Raises
    ------
    WorkbenchError
        A block is missing or unknown, a variant lacks what its block says or has a bad
        condition, ids repeat, a block has not exactly one default, a link leaves the reserved
        example domains.
    """
    from workbench.segment.rules import LIFECYCLE_STAGES

    unknown = sorted(set(data) - set(BLOCKS))
    if unknown:
        raise WorkbenchError(f"{source}: unknown blocks {', '.join(unknown)}")
    blocks = {}
    seen: set[str] = set()
    for name in BLOCKS:
        raw = data.get(name)
        if not isinstance(raw, dict):
            raise WorkbenchError(f"{source}: no [{name}] block")
        rules = _texts(raw.get("rules", []), f"{name}.rules", source)
        if set(rules) - set(RULES):
            raise WorkbenchError(f"{source}: {name}.rules must be among {', '.join(RULES)}")
        tests = tuple(t.lower() for t in _texts(raw.get("tests", []), f"{name}.tests", source))
        variants = tuple(
            _variant(name, v, source, LIFECYCLE_STAGES) for v in raw.get("variants", [])
        )
        if not variants:
            raise WorkbenchError(f"{source}: block '{name}' has no variants")
        for v in variants:
            if v.id in seen:
                raise WorkbenchError(f"{source}: variant id '{v.id}' is used twice")
            seen.add(v.id)
        n_default = sum(v.default for v in variants)
        if n_default != 1:
            raise WorkbenchError(f"{source}: block '{name}' needs exactly one default variant")
        title = raw.get("title", name)
        blocks[name] = Block(name, str(title), rules, tests, variants)
    return Catalogue(blocks, source)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and check a variant library (default: the package's ``blocks.toml``, read once).

    Parameters
    ----------
    path : path, optional
        A TOML file in the format of ``workbench/content/blocks.toml``.

    Returns
    -------
    Catalogue

    Raises
    ------
    WorkbenchError
        The file is missing, is not TOML, or breaks the format (:func:`parse_catalogue`).
    """
    if path is None:
        return _default_catalogue()
    return _read(Path(path))


@functools.cache
def _default_catalogue() -> Catalogue:
    return _read(DEFAULT_LIBRARY)


def _read(path: Path) -> Catalogue:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: not a TOML file ({exc})") from None
    return parse_catalogue(data, str(path))
