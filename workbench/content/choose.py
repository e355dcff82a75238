"""Choose a variant of every email block for every segment, with the reason a marketer reads.

For each segment and block (:data:`~workbench.content.blocks.BLOCKS`) the first rule that
decides wins:

1. **test** -- a test of the world about this block (an A/B/n test whose name says which block
   it varies, ``"subject line: urgency vs proof"``, or a factor of a factorial test, ``image``)
   has a winner *in this segment*: the arm with the highest posterior probability to be best
   (conversion within the test's window, exact Beta-Binomial analysis by
   :class:`~workbench.experiments.conjugate.ConjugateABTest` of the segment's recipients) reaches
   ``min_certainty``, the segment had at least ``min_recipients`` recipients, and the arm maps to
   a variant (its ``arms``). A factorial test is analysed one factor at a time, pooling over the
   other factors' levels, which the design balances; interactions are ignored. When several
   tests decide the same block, the most certain wins. A test that exists but is not certain
   enough is named in the reason, and its certainty kept, before the next rule decides.
2. the block's own **rules** (``blocks.toml``):

   - *affinity* (hero, preheader, recommendations, proof row): the content category whose share
     of the segment's opens and clicks stands highest above its share in the whole list (the
     ``open_share_<category>`` and ``click_share_<category>`` features, averaged over the
     segment's readers and divided by the average over all readers), when it reaches
     ``min_lift`` with at least ``min_readers`` readers; for blocks with product variants,
     first the product category of the segment's orders in the same way (``buy_share_<category>``
     over buyers, ``min_buyers``);
   - *lifecycle* (subject line, call to action, proof row): the segment's most common lifecycle
     stage (:func:`workbench.segment.rules.lifecycle_stage`);

3. the block's **default**.

Affinities and stages are measured on the subscribers who can still be emailed (email consent,
not unsubscribed, not bounced: the feature ``email_reachable``); tests on everyone the segment
holds, since the test ran before some of them left. Nothing after ``as_of`` is used: the
features are computed as of it, and only test recipients whose conversion window closed before
it, and orders before it, count.

At ``min_certainty = 0.8`` a two-arm test with no true difference still shows a "winner" in
about 40% of segments (P(best) is uniform under no difference): small segments make
confident-looking but fragile choices. The reason states the certainty and the recipients so
a reader can judge; raise ``min_certainty`` (or ``min_recipients``) to be stricter.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.content.blocks import BLOCKS, Block, Catalogue, Variant, load_catalogue
from workbench.errors import WorkbenchError
from workbench.schema import World

#: Columns of the choose table.
COLUMNS: tuple[str, ...] = (
    "segment",
    "segment_name",
    "block",
    "variant",
    "source",
    "certainty",
    "reason",
)
#: Columns of the table of test leaders (:func:`leading_arms`).
TEST_COLUMNS: tuple[str, ...] = (
    "segment",
    "block",
    "test",
    "experiment_id",
    "factor",
    "leader",
    "variant",
    "prob_best",
    "recipients",
)
#: Experiment kinds that compare versions of an email (others, such as holdouts and cadence
#: tests, say nothing about content).
CONTENT_TEST_KINDS: tuple[str, ...] = ("ab_test", "factorial")


# ------------------------------------------------------------------------------- segments


def segment_table(
    segments: pd.DataFrame | pd.Series, names: Mapping[Any, str] | None = None
) -> pd.DataFrame:
    """``subscriber_id, segment, segment_name`` from a segments table or a Series.

    Parameters
    ----------
    segments : DataFrame or Series
        A table with ``subscriber_id`` and ``segment`` (and optionally ``segment_name``), as
        ``workbench segment`` writes it, or a Series of segments indexed by ``subscriber_id``.
    names : mapping, optional
        Segment -> name (default: the table's ``segment_name``, else ``"segment <label>"``).

    Returns
    -------
    DataFrame

    Raises
    ------
    WorkbenchError
        Missing columns, missing values or repeated subscribers.
    """
    if isinstance(segments, pd.Series):
        df = pd.DataFrame(
            {"subscriber_id": segments.index.to_numpy(), "segment": segments.to_numpy()}
        )
    else:
        missing = [c for c in ("subscriber_id", "segment") if c not in segments.columns]
        if missing:
            raise WorkbenchError(f"segments need the columns {', '.join(missing)}")
        cols = [c for c in ("subscriber_id", "segment", "segment_name") if c in segments]
        df = segments[cols].copy()
    if df["subscriber_id"].isna().any() or df["segment"].isna().any():
        raise WorkbenchError("segments hold missing subscriber ids or segments")
    if df["subscriber_id"].duplicated().any():
        raise WorkbenchError("segments list a subscriber twice")
    if names is not None:
        df["segment_name"] = df["segment"].map(dict(names))
    if "segment_name" not in df:
        df["segment_name"] = np.nan
    fallback = "segment " + df["segment"].astype(str)
    df["segment_name"] = df["segment_name"].where(df["segment_name"].notna(), fallback)
    df["segment_name"] = df["segment_name"].astype(str)
    return df.reset_index(drop=True)


def _names(seg: pd.DataFrame) -> dict[Any, str]:
    return seg.drop_duplicates("segment").set_index("segment")["segment_name"].to_dict()


# ------------------------------------------------------------------------------- profiles


@dataclass
class SegmentProfile:
    """What the affinity and lifecycle rules know about one segment.

    Attributes
    ----------
    subscribers : int
        Subscribers the profile is measured on (the reachable ones, when there are any).
    content : Series
        Content category -> lift (its share of the segment's opens and clicks / its share in
        the whole list), sorted from the highest.
    readers : int
        Subscribers of the segment with at least one human open.
    products : Series
        Product category -> lift of its share of the segment's orders, sorted from the highest.
    buyers : int
        Subscribers of the segment with at least one order.
    stage : str
        The most common lifecycle stage.
    stage_share : float
        Its share of the segment.
    """

    subscribers: int
    content: pd.Series
    readers: int
    products: pd.Series
    buyers: int
    stage: str
    stage_share: float


def _share_lift(part: pd.DataFrame, base: pd.DataFrame, prefix: str, count: str) -> pd.Series:
    """Mean ``prefix<category>`` over members with evidence / the same over the base."""
    cols = [c for c in base.columns if c.startswith(prefix)]
    if not cols:
        return pd.Series(dtype="float64")
    mine = part.loc[part[count] > 0, cols].mean()
    ref = base.loc[base[count] > 0, cols].mean().replace(0, np.nan)
    lift = (mine / ref).dropna()
    lift.index = [c.removeprefix(prefix) for c in lift.index]
    return lift


def segment_profiles(features: pd.DataFrame, segments: pd.DataFrame) -> dict[Any, SegmentProfile]:
    """The affinity and lifecycle profile of every segment (see :class:`SegmentProfile`).

    Parameters
    ----------
    features : DataFrame
        :func:`workbench.features.compute_features` output (indexed by ``subscriber_id``).
    segments : DataFrame
        ``subscriber_id, segment`` (:func:`segment_table`).

    Returns
    -------
    dict
        Segment -> :class:`SegmentProfile`. Subscribers without features (signed up after the
        as-of date) are left out; a segment without any keeps an empty profile.
    """
    from workbench.segment.rules import lifecycle_stage

    seg = segments.set_index("subscriber_id")["segment"]
    f = features.loc[features.index.intersection(seg.index)].copy()
    f["_segment"] = seg.reindex(f.index).to_numpy()
    f["_stage"] = lifecycle_stage(f).astype(str).to_numpy()
    reach = (
        f["email_reachable"].to_numpy() == 1 if "email_reachable" in f else np.ones(len(f), bool)
    )
    base = f.loc[reach] if reach.any() else f
    out: dict[Any, SegmentProfile] = {}
    for s in pd.unique(segments["segment"]):
        part = f.loc[(f["_segment"] == s).to_numpy()]
        live = part.loc[part["email_reachable"] == 1] if "email_reachable" in part else part
        part = live if len(live) else part
        opens = _share_lift(part, base, "open_share_", "n_opens")
        clicks = _share_lift(part, base, "click_share_", "n_clicks")
        clickers = int((part["n_clicks"] > 0).sum()) if "n_clicks" in part else 0
        readers = int((part["n_opens"] > 0).sum()) if "n_opens" in part else 0
        if clickers and len(clicks):
            content = pd.concat([opens, clicks], axis=1).mean(axis=1)
        else:
            content = opens
        products = _share_lift(part, base, "buy_share_", "n_orders")
        stages = part["_stage"].value_counts()
        stage = str(stages.index[0]) if len(stages) else ""
        out[s] = SegmentProfile(
            subscribers=len(part),
            content=content.sort_values(ascending=False, kind="stable"),
            readers=readers,
            products=products.sort_values(ascending=False, kind="stable"),
            buyers=int((part["n_orders"] > 0).sum()) if "n_orders" in part else 0,
            stage=stage,
            stage_share=float(stages.iloc[0] / len(part)) if len(part) else math.nan,
        )
    return out


# ---------------------------------------------------------------------------------- tests


def _topic(name: str) -> str:
    """The part of a test's name before ``:`` (``"subject line"``), else the whole name."""
    return name.split(":", 1)[0].strip() if ":" in name else name.strip()


def _block_of_ab(name: str, arms: list[str], control: str, catalogue: Catalogue) -> Block | None:
    """The block an A/B/n test varies: named by its topic, else the one whose variants hold
    every arm that is not the control."""
    block = catalogue.block_for(_topic(name)) or catalogue.block_for(name)
    if block is not None:
        return block
    others = [a for a in arms if a != control]
    found = [
        catalogue[b]
        for b in catalogue
        if others and all(catalogue[b].matching("arms", a) for a in others)
    ]
    return found[0] if len(found) == 1 else None


def _levels(arm: str) -> dict[str, str]:
    """``{"subject": "plain", ...}`` from a factorial arm ``subject=plain;image=product``."""
    out = {}
    for part in str(arm).split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _finished(world: World, as_of: pd.Timestamp | None) -> World:
    """The world's tests as of ``as_of``: recipients whose window closed, orders before it."""
    if as_of is None:
        return world
    exps = world["experiments"]
    window = exps.set_index("experiment_id")["conversion_window_days"]
    asg = world["assignments"]
    days = pd.to_timedelta(asg["experiment_id"].map(window).fillna(0).astype(float), unit="D")
    asg = asg.loc[(asg["assigned_ts"] + days < as_of).to_numpy()]
    orders = world["orders"]
    orders = orders.loc[(orders["ts"] < as_of).to_numpy()]
    tables = {**world.tables, "assignments": asg, "orders": orders}
    return World(world.path, world.meta, tables)


def _conjugate_leaders(rec: pd.DataFrame, control: str) -> pd.DataFrame:
    """Per segment with every arm: the arm most likely best, its P(best), the recipients."""
    from workbench.experiments.conjugate import ConjugateABTest
    from workbench.experiments.inputs import from_recipients

    arms = sorted(rec["arm"].unique())
    cover = rec.groupby("segment")["arm"].nunique()
    full = cover.index[cover.to_numpy() == len(arms)]
    rec = rec.loc[rec["segment"].isin(full)]
    if rec.empty or len(arms) < 2 or control not in arms:
        return pd.DataFrame(columns=["segment", "leader", "prob_best", "recipients"])
    table = from_recipients(
        rec, segment_col="segment", arm_col="arm", converted_col="converted", control=control
    )
    res = ConjugateABTest().fit(table).result_
    best = res.loc[res.groupby("segment", sort=True)["prob_best"].idxmax()]
    n = res.groupby("segment")["n"].sum()
    return pd.DataFrame(
        {
            "segment": best["segment"].to_numpy(),
            "leader": best["arm"].astype(str).to_numpy(),
            "prob_best": best["prob_best"].to_numpy(float),
            "recipients": n.reindex(best["segment"]).to_numpy("int64"),
        }
    )


def leading_arms(
    world: str | Path | World,
    segments: pd.DataFrame | pd.Series,
    *,
    as_of: str | pd.Timestamp | None = None,
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """The leading arm of every content test of a world in every segment, with its certainty.

    Parameters
    ----------
    world : path or World
        A world with ``experiments``, ``assignments`` and ``orders`` (without them: no tests).
    segments : DataFrame or Series
        See :func:`segment_table`.
    as_of : str or Timestamp, optional
        Only recipients whose conversion window closed before it, and orders before it, count.
    catalogue : Catalogue, optional
        The variant library that says which block each test is about.

    Returns
    -------
    DataFrame
        :data:`TEST_COLUMNS`: one row per segment × test (× factor) about a block: the leading
        arm, the variant it maps to (empty when the library has none), its posterior probability
        to be best and the segment's recipients. Segments the test did not reach with every arm
        have no row. Tests about no block (holdouts, cadence tests) have none either.
    """
    from workbench.experiments.inputs import world_recipients
    from workbench.schema import load_world, present_tables

    catalogue = catalogue or load_catalogue()
    seg = segment_table(segments)[["subscriber_id", "segment"]]
    if not isinstance(world, World):
        needed = ("experiments", "assignments", "orders")
        if not set(needed) <= set(present_tables(world)):
            return pd.DataFrame(columns=list(TEST_COLUMNS))
        world = load_world(world, tables=list(needed))
    elif not all(t in world for t in ("experiments", "assignments", "orders")):
        return pd.DataFrame(columns=list(TEST_COLUMNS))
    stamp = None if as_of is None else pd.Timestamp(as_of)
    if stamp is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    world = _finished(world, stamp)
    # the experiments engine labels segments with text: give each label a key, and map back
    labels = list(pd.unique(seg["segment"]))
    key = {s: f"s{i}" for i, s in enumerate(labels)}
    mapping = seg.assign(segment=seg["segment"].map(key))
    back = {f"s{i}": s for i, s in enumerate(labels)}
    rows = []
    exps = world["experiments"]
    for e in exps.loc[exps["kind"].isin(CONTENT_TEST_KINDS)].itertuples(index=False):
        arms = str(e.arms).split("|")
        rec = world_recipients(world, int(e.experiment_id), mapping)
        rec = rec.loc[rec["segment"].isin(back)]
        if rec.empty:
            continue
        jobs: list[tuple[Block, str | None, pd.DataFrame, str]] = []
        if e.kind == "factorial":
            levels = rec["arm"].map(_levels)
            control = _levels(str(e.control_arm))
            for factor in _levels(arms[0]):
                block = catalogue.block_for(factor)
                if block is None or factor not in control:
                    continue
                part = rec.assign(arm=levels.map(lambda d, f=factor: d.get(f, "")))
                jobs.append((block, factor, part, control[factor]))
        else:
            block = _block_of_ab(str(e.name), arms, str(e.control_arm), catalogue)
            if block is not None:
                jobs.append((block, None, rec, str(e.control_arm)))
        for block, factor, part, control in jobs:
            leaders = _conjugate_leaders(part, control)
            for r in leaders.itertuples(index=False):
                v = block.matching("arms", r.leader)
                rows.append(
                    {
                        "segment": back[r.segment],
                        "block": block.name,
                        "test": str(e.name),
                        "experiment_id": int(e.experiment_id),
                        "factor": factor,
                        "leader": r.leader,
                        "variant": v.id if v is not None else "",
                        "prob_best": float(r.prob_best),
                        "recipients": int(r.recipients),
                    }
                )
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))


# ------------------------------------------------------------------------------- choosing


def _p(x: float) -> str:
    return f"{x:.2f}"


def _test_name(t: Mapping[str, Any]) -> str:
    factor = t.get("factor")
    if isinstance(factor, str) and factor:
        return f"{factor} factor of the '{t['test']}' test"
    return f"'{t['test']}' test"


def _times(x: float) -> str:
    return f"{x:.2f}×"


def _cat(name: str) -> str:
    return str(name).replace("_", " ")


@dataclass
class _Rules:
    min_certainty: float
    min_recipients: int
    min_lift: float
    min_readers: int
    min_buyers: int


def _by_test(
    block: Block, tests: pd.DataFrame, rules: _Rules
) -> tuple[Variant | None, float, str, str]:
    """(variant, certainty, reason tail, prefix for the next rule) from the block's tests."""
    if tests.empty:
        return None, math.nan, "", ""
    usable = tests.loc[(tests["recipients"] >= rules.min_recipients) & (tests["variant"] != "")]
    won = usable.loc[usable["prob_best"] >= rules.min_certainty]
    if len(won):
        t = won.sort_values("prob_best", ascending=False, kind="stable").iloc[0]
        v = block.variant(t["variant"])
        tail = (
            f"won the {_test_name(t)} in this segment (P(best) = {_p(t['prob_best'])}, "
            f"{int(t['recipients']):,} recipients)"
        )
        return v, float(t["prob_best"]), tail, ""
    pool = usable if len(usable) else tests
    t = pool.sort_values("prob_best", ascending=False, kind="stable").iloc[0]
    if t["variant"] == "":
        prefix = (
            f"'{t['leader']}' leads the {_test_name(t)} in this segment but the library has no "
            f"{block.title} variant for it, so "
        )
    elif t["recipients"] < rules.min_recipients:
        prefix = (
            f"The {_test_name(t)} reached only {int(t['recipients']):,} recipients in this "
            f"segment (fewer than {rules.min_recipients:,}), so "
        )
    else:
        prefix = (
            f"No clear winner of the {_test_name(t)} in this segment ('{t['leader']}' leads "
            f"with P(best) = {_p(t['prob_best'])}, below {_p(rules.min_certainty)}; "
            f"{int(t['recipients']):,} recipients), so "
        )
    return None, float(t["prob_best"]), "", prefix


def _by_affinity(
    block: Block, prof: SegmentProfile, rules: _Rules
) -> tuple[Variant | None, str, str]:
    """(variant, reason tail, why not) from the segment's product and content affinity."""
    notes = []
    if any(v.products for v in block.variants) and len(prof.products):
        top, lift = prof.products.index[0], float(prof.products.iloc[0])
        v = block.matching("products", top)
        if prof.buyers >= rules.min_buyers and lift >= rules.min_lift and v is not None:
            tail = (
                f"matches what the segment buys: {_cat(top)} takes {_times(lift)} its usual "
                f"share of its orders ({prof.buyers:,} buyers)"
            )
            return v, tail, ""
        if prof.buyers < rules.min_buyers:
            notes.append(f"too few buyers ({prof.buyers:,}) to tell what the segment buys")
        elif lift < rules.min_lift:
            notes.append(f"no product category stands out in its orders ({_cat(top)}, "
                         f"{_times(lift)})")  # fmt: skip
        else:
            notes.append(f"the library has no {block.title} variant for {_cat(top)} orders")
    if len(prof.content):
        top, lift = prof.content.index[0], float(prof.content.iloc[0])
        v = block.matching("categories", top)
        if prof.readers >= rules.min_readers and lift >= rules.min_lift:
            if v is not None:
                tail = (
                    f"matches the segment's content affinity: {_cat(top)} takes {_times(lift)} "
                    f"its usual share of its opens and clicks ({prof.readers:,} readers)"
                )
                return v, tail, ""
            notes.append(f"the library has no {block.title} variant for {_cat(top)} content")
        elif prof.readers < rules.min_readers:
            notes.append(f"too few readers ({prof.readers:,}) to tell its content affinity")
        else:
            notes.append(
                f"no content category stands out (top: {_cat(top)} at {_times(lift)} its usual "
                f"share, below {_times(rules.min_lift)})"
            )
    else:
        notes.append("no content affinity is known")
    return None, "", "; ".join(notes)


def _by_lifecycle(block: Block, prof: SegmentProfile) -> tuple[Variant | None, str, str]:
    if not prof.stage:
        return None, "", "no lifecycle stage is known"
    v = block.matching("lifecycle", prof.stage)
    if v is None:
        return None, "", f"no {block.title} variant is meant for {prof.stage} subscribers"
    tail = (
        f"fits the segment's most common lifecycle stage, {prof.stage} "
        f"({prof.stage_share:.0%} of its subscribers)"
    )
    return v, tail, ""


def _choose_block(
    block: Block, prof: SegmentProfile, tests: pd.DataFrame, rules: _Rules
) -> tuple[str, str, float, str]:
    """(variant id, source, certainty, reason) of one block in one segment."""
    v, certainty, tail, prefix = _by_test(block, tests, rules)
    what = f"{block.title} '{{label}}'"
    if v is not None:
        return v.id, "test", certainty, _sentence("", what.format(label=v.label), tail)
    notes = []
    for rule in block.rules:
        if rule == "affinity":
            v, tail, why = _by_affinity(block, prof, rules)
        else:
            v, tail, why = _by_lifecycle(block, prof)
        if v is not None:
            return v.id, rule, certainty, _sentence(prefix, what.format(label=v.label), tail)
        notes.append(why)
    d = block.default
    if not block.rules and not prefix:
        tail = "is the default: no test in this segment decides it"
    else:
        tail = "is the default: " + ("; ".join(n for n in notes if n) or "no rule decides it")
    return d.id, "default", certainty, _sentence(prefix, what.format(label=d.label), tail)


def _sentence(prefix: str, what: str, tail: str) -> str:
    text = f"{prefix}{what} {tail}".strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def choose_content(
    world: str | Path | World,
    segments: pd.DataFrame | pd.Series,
    *,
    as_of: str | pd.Timestamp | None = None,
    tests: bool | pd.DataFrame = True,
    min_certainty: float = 0.8,
    min_recipients: int = 100,
    min_lift: float = 1.2,
    min_readers: int = 20,
    min_buyers: int = 20,
    features: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """Choose the variant of every block for every segment (rules in the module docstring).

    Parameters
    ----------
    world : path or World
        The world the segments come from.
    segments : DataFrame or Series
        ``subscriber_id, segment[, segment_name]`` as ``workbench segment`` writes it, or a
        Series of segments indexed by ``subscriber_id`` (:func:`segment_table`).
    as_of : str or Timestamp, optional
        Nothing at or after it is used (default: the end of the world's history).
    tests : bool or DataFrame, default True
        Use the world's content tests (``False``: ignore them), or a table of test leaders
        computed before (:func:`leading_arms`).
    min_certainty : float, default 0.8
        Posterior probability to be best a test's leading arm needs to decide a block.
    min_recipients : int, default 100
        Recipients a test needs in a segment to decide for it.
    min_lift : float, default 1.2
        How far above its usual share a content or product category must stand (1.2 = 20%
        above) to choose a variant.
    min_readers, min_buyers : int, default 20
        Readers (subscribers with an open) and buyers a segment needs for its content and
        product affinity to count.
    features : DataFrame, optional
        The features as of ``as_of`` (:func:`workbench.features.compute_features`, the function
        ``workbench segment`` uses), when already computed.
    catalogue : Catalogue, optional
        The variant library (default: the package's ``blocks.toml``).

    Returns
    -------
    DataFrame
        :data:`COLUMNS`: one row per segment × block (blocks in email order): the chosen
        ``variant`` id, its ``source`` (``test``, ``affinity``, ``lifecycle`` or ``default``),
        the ``certainty`` of the test behind or beside it (the leading arm's P(best); NaN when no
        test covered the block in the segment) and the ``reason``, one plain sentence.

    Raises
    ------
    WorkbenchError
        Bad settings or segments.
    """
    if not 0 < min_certainty <= 1:
        raise WorkbenchError(f"min_certainty must be in (0, 1], got {min_certainty}")
    if min_lift < 1:
        raise WorkbenchError(f"min_lift must be >= 1, got {min_lift}")
    catalogue = catalogue or load_catalogue()
    seg = segment_table(segments)
    if features is None:
        from workbench.features import compute_features

        features = compute_features(world, as_of=as_of)
    stamp = features.attrs.get("as_of", as_of)
    profiles = segment_profiles(features, seg)
    if isinstance(tests, pd.DataFrame):
        leaders = tests
    elif tests:
        leaders = leading_arms(world, seg, as_of=stamp, catalogue=catalogue)
    else:
        leaders = pd.DataFrame(columns=list(TEST_COLUMNS))
    rules = _Rules(min_certainty, int(min_recipients), min_lift, int(min_readers), int(min_buyers))
    names = _names(seg)
    rows = []
    by_key = {k: g for k, g in leaders.groupby(["segment", "block"], sort=False)}
    empty = leaders.iloc[0:0]
    for s in sorted(profiles, key=_order_key):
        for b in BLOCKS:
            variant, source, certainty, reason = _choose_block(
                catalogue[b], profiles[s], by_key.get((s, b), empty), rules
            )
            rows.append((s, names[s], b, variant, source, certainty, reason))
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out["certainty"] = out["certainty"].astype("float64")
    return out


def _order_key(s: Any) -> tuple[int, Any]:
    """Segments in natural order: numbers by value, then text."""
    try:
        return (0, float(s))
    except (TypeError, ValueError):
        return (1, str(s))


def slug(text: str, max_len: int = 60) -> str:
    """A file-name-safe slug of a segment's label and name (``3-new-frequent-openers``)."""
    flat = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    s = re.sub(r"[^A-Za-z0-9]+", "-", flat).strip("-").lower()
    if len(s) > max_len:
        cut = s[: max_len + 1]
        s = cut[: cut.rfind("-")] if "-" in cut[1:] else s[:max_len]
    return s.strip("-") or "segment"
