"""The policies of the strategy lab, each decided from the observed data only.

A policy says, for the weeks ahead, who is on the email list, on which weekdays each subscriber
gets a broadcast and with which content (a :class:`~workbench.synth.replay.Plan`):

- ``mass``: everyone reachable, every usual broadcast, the calendar's content (business as
  usual);
- ``random``: a random share of the subscribers who can still be emailed (the same number as the
  uplift policy's), the rest held out: what targeting without information earns;
- ``uplift``: the same share of the reachable subscribers, those with the highest predicted
  uplift (from a model fitted on the world's randomised send test, :mod:`workbench.uplift`);
- ``playbook``: every subscriber gets their segment's cadence (emails a week) and its first
  content angle (:func:`workbench.segment.playbook.playbook`); the send window is kept in the
  table but changes nothing in a generated world, whose response model does not depend on the
  hour of a send.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.synth.personas import CONTENT_CATEGORIES
from workbench.synth.replay import Plan, cadence_mask

#: The policies the lab knows, in the order of its tables.
POLICIES = ("mass", "playbook", "uplift", "random")


def _mask(ids: pd.Index, n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    out[ids.to_numpy(dtype=np.int64) - 1] = True
    return out


def mass_plan(n: int) -> Plan:
    """Everyone on the list, the usual broadcasts and content."""
    return Plan("mass", np.ones(n, bool))


def random_plan(n: int, share: float, seed: int = 0, reachable: pd.Index | None = None) -> Plan:
    """A random ``share`` of the reachable subscribers on the list.

    Parameters
    ----------
    n : int
        Subscribers of the world (ids 1..n).
    share : float
        Share of the reachable subscribers targeted, in (0, 1]: ``round(share * m)`` of the
        ``m`` reachable ones.
    seed : int
        Seed of the draw.
    reachable : Index, optional
        Subscriber ids that can still be emailed (default: everyone).
    """
    pool = pd.Index(np.arange(1, n + 1)) if reachable is None else reachable
    k = int(round(share * len(pool)))
    pick = np.random.default_rng(seed).permutation(len(pool))[:k]
    return Plan("random", _mask(pool[np.sort(pick)], n))


def uplift_plan(uplift: pd.Series, n: int, share: float, reachable: pd.Index | None = None) -> Plan:
    """The ``share`` of the reachable subscribers with the highest predicted uplift.

    Parameters
    ----------
    uplift : Series
        Predicted uplift per ``subscriber_id``; subscribers without a score are not targeted.
    n : int
        Subscribers of the world.
    share : float
        Share of the reachable subscribers targeted, in (0, 1] (as :func:`random_plan`, so the
        two send to the same number).
    reachable : Index, optional
        Subscriber ids that can still be emailed (default: everyone).
    """
    pool = uplift if reachable is None else uplift[uplift.index.isin(reachable)]
    size = n if reachable is None else len(reachable)
    k = min(int(round(share * size)), len(pool))
    order = np.argsort(-pool.to_numpy(dtype=float), kind="stable")[:k]
    return Plan("uplift", _mask(pool.index[order], n))


def content_index(content: str) -> int:
    """Index of a playbook content angle ("new arrivals, deals" -> "new_arrivals"); -1 unknown."""
    first = content.split(",")[0].strip().replace(" ", "_")
    return CONTENT_CATEGORIES.index(first) if first in CONTENT_CATEGORIES else -1


def playbook_plan(
    segments: pd.Series, book: pd.DataFrame, n: int, usual_weekdays: Sequence[int]
) -> Plan:
    """Each subscriber gets their segment's cadence and first content angle.

    Parameters
    ----------
    segments : Series
        Segment per ``subscriber_id``.
    book : DataFrame
        :func:`workbench.segment.playbook.playbook` (``segment, max_emails_per_week, content``).
    n : int
        Subscribers of the world.
    usual_weekdays : sequence of int
        The calendar's broadcast weekdays (0 = Monday): a cadence of two a week keeps them, more
        adds days as the cadence tests do (:func:`workbench.synth.calendar.cadence_weekdays`).
    """
    per_week = book.set_index("segment")["max_emails_per_week"].clip(1, 7).astype(int)
    content = book.set_index("segment")["content"].map(content_index)
    ids = segments.index.to_numpy(dtype=np.int64) - 1
    weekdays = np.zeros(n, np.uint8)
    own = np.full(n, -1, np.int64)
    masks = {s: cadence_mask(usual_weekdays, k) for s, k in per_week.items()}
    weekdays[ids] = segments.map(masks).fillna(0).to_numpy(dtype=np.uint8)
    own[ids] = segments.map(content).fillna(-1).to_numpy(dtype=np.int64)
    return Plan("playbook", _mask(segments.index, n), weekdays, own)
