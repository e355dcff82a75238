"""Replay email policies forward in a generated world, with the world's true response model.

The strategy lab (:mod:`workbench.strategy`) asks what a policy *would* earn. A generated world
can answer that exactly: its ``truth_scenario.json`` holds the scenario and the seed, so
:class:`WorldReplay` re-simulates each chunk of subscribers to the end of the observed period
(the same people, latent traits, lifecycle stages, fatigue counts and unsubscribes as the world
on disk; :meth:`WorldReplay.check` compares the unsubscribes with the world's table) and then
plays a further ``days`` forward under each :class:`Plan`:

- every day of the forward window carries an email broadcast (content rotating as in the
  scenario); a plan says who is on the list (``send``), on which weekdays each subscriber gets
  one (``weekdays``, a bit mask; the scenario's usual days by default) and which content each
  gets (``content``; the day's rotation by default);
- flows (welcome, cart reminder, reactivation), SMS, push, in-app, retargeting and search carry
  on exactly as in the world, and the lifecycle keeps moving;
- sends, opens, clicks, fatigue, bounces, unsubscribes and complaints follow the simulator's own
  code (:class:`~workbench.synth.simulate.ChunkSimulator`), and each subscriber-day's *expected*
  orders are ``1 - exp(-H)`` of the true hazard, so order noise does not blur a comparison.

Every plan of a replication starts from the same state and the same random stream; the plan
``none`` (no broadcasts at all) is always played, and a plan's incremental outcome is its
difference from ``none`` in the same replication. Replications differ by their random stream
only. What is left out: the touch hazards of the period's last two days that spill into the
first forward days (the same under every plan), and sign-ups during the forward window (none).

This module reads the truth (the scenario and seed of a world, the simulator's latent traits):
it is evaluation code, on the truth wall's allow-list.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.synth.calendar import build_calendar, cadence_weekdays
from workbench.synth.personas import CONTENT_CATEGORIES
from workbench.synth.scenario import WEEKDAYS, Scenario
from workbench.synth.simulate import (
    EFFECT_CHANNELS,
    KERNEL,
    PURCHASE_MULT,
    ChunkSimulator,
)

#: Per-subscriber outcomes of one forward replay (columns of :meth:`WorldReplay.play`).
OUTCOMES = (
    "broadcasts",
    "delivered",
    "fatigued",
    "unsubscribed",
    "complained",
    "conversions",
    "orders",
    "revenue",
)
#: Spawn key of the replay's random streams (ASCII "play"), apart from the world's own.
REPLAY_STREAM = 0x706C6179


@dataclass(frozen=True)
class Plan:
    """Who gets which broadcast in the forward window, per subscriber of the world.

    Arrays are indexed by ``subscriber_id - 1`` (generated worlds number subscribers from 1).

    Parameters
    ----------
    name : str
        The policy's name (``none`` is reserved for the baseline without broadcasts).
    send : ndarray of bool
        On the list: receives broadcasts at all.
    weekdays : ndarray of uint8, optional
        Bit ``w`` set (0 = Monday) when the subscriber gets the broadcast of weekday ``w``;
        default the scenario's usual email weekdays for everyone.
    content : ndarray of int, optional
        Index into :data:`~workbench.synth.personas.CONTENT_CATEGORIES` of the content each
        subscriber gets; ``-1`` (or no array) = the day's rotation.
    """

    name: str
    send: np.ndarray
    weekdays: np.ndarray | None = None
    content: np.ndarray | None = None


def weekday_mask(days: Iterable[int]) -> int:
    """Bit mask of weekdays (0 = Monday) for :attr:`Plan.weekdays`."""
    mask = 0
    for d in days:
        mask |= 1 << int(d)
    return mask


def cadence_mask(usual: Sequence[int], per_week: int) -> int:
    """Weekday mask of ``per_week`` broadcasts a week, the usual days first (as cadence tests)."""
    return weekday_mask(cadence_weekdays(tuple(usual), int(per_week)))


class _Counter:
    """Stands in for the simulator's event log: counts deliveries, unsubscribes, complaints."""

    def __init__(self, n: int) -> None:
        self.counts = {et: np.zeros(n, np.int64) for et in (1, 4, 6)}

    def add(self, **arrays: object) -> None:
        et = arrays.get("et")
        if np.ndim(et) == 0 and int(et) in self.counts:  # type: ignore[arg-type]
            np.add.at(self.counts[int(et)], np.asarray(arrays["sid"]), 1)  # type: ignore[call-overload]


class _Null:
    """Discards touchpoints and lifecycle records (not needed forward)."""

    def add(self, **arrays: object) -> None:
        return None


class WorldReplay:
    """A generated world, re-simulated to the end of its period, ready to replay plans forward.

    Parameters
    ----------
    world : path
        A world folder made by :func:`workbench.synth.generate_world` (it needs the world's
        ``truth_scenario.json``: real exports cannot be replayed).

    Raises
    ------
    WorkbenchError
        The folder has no ``truth_scenario.json``, or it was made by a generator older than 1.4
        (the re-simulation would not be the world on disk).
    """

    def __init__(self, world: str | Path) -> None:
        root = Path(world)
        path = root / "truth_scenario.json"
        if not path.is_file():
            raise WorkbenchError(
                f"{root}: no truth_scenario.json; the strategy lab replays generated worlds "
                "only (a real export has no true response model)"
            )
        truth = json.loads(path.read_text(encoding="utf-8"))
        version = tuple(int(x) for x in str(truth.get("generator_version", "0")).split("."))
        if version < (1, 4):
            raise WorkbenchError(
                f"{path}: generator {truth.get('generator_version')} is older than 1.4; "
                "regenerate the world to replay it"
            )
        self.root = root
        self.seed = int(truth["seed"])
        self.scenario = Scenario.from_dict(truth["scenario"], truth.get("holdout_days"))
        self.calendar = build_calendar(self.scenario)
        sc = self.scenario
        self.n = sc.n_subscribers
        self.n_chunks = -(-sc.n_subscribers // sc.chunk_size)
        self.usual = tuple(WEEKDAYS.index(w) for w in sc.calendar.email_weekdays)
        self.end = dt.datetime.combine(
            sc.start + dt.timedelta(days=sc.days), dt.time(), tzinfo=dt.UTC
        )

    # ------------------------------------------------------------------ the world's end state
    def chunks(self) -> Iterator[ChunkSimulator]:
        """Each chunk's simulator at the end of the period (one at a time: memory stays flat)."""
        sc, seeds = self.scenario, np.random.SeedSequence(self.seed).spawn(self.n_chunks)
        for k in range(self.n_chunks):
            sid0 = k * sc.chunk_size
            n = min(sc.chunk_size, sc.n_subscribers - sid0)
            rng = np.random.default_rng(seeds[k])
            sim = ChunkSimulator(sc, self.calendar, sid0 + 1, n, rng)
            sim.run_days()
            sim.C = None  # the period's hazards are not needed forward
            sim.prog_R, sim.prog_X = {}, {}
            yield sim

    def check(self) -> int:
        """Subscribers whose re-simulated unsubscribe state differs from the world's (0 = exact).

        Returns
        -------
        int
            Mismatches between the replay's end state and ``subscribers.unsubscribed_ts``.
        """
        from workbench.schema import load_world

        subs = load_world(self.root, tables=["subscribers"])["subscribers"]
        unsub = subs.set_index("subscriber_id")["unsubscribed_ts"].notna()
        bad = 0
        for sim in self.chunks():
            ids = np.arange(sim.n) + sim.sid0
            bad += int((unsub.reindex(ids).to_numpy() != sim.unsub).sum())
        return bad

    # ------------------------------------------------------------------ forward
    def _forward_calendar(self, days: int) -> tuple[object, np.ndarray]:
        sc = self.scenario
        fwd = dataclasses.replace(
            sc,
            start=sc.start + dt.timedelta(days=sc.days),
            days=days,
            experiments=(),
            calendar=dataclasses.replace(sc.calendar, email_weekdays=WEEKDAYS),
        )
        weekday = np.array([(fwd.start + dt.timedelta(days=d)).weekday() for d in range(days)])
        return build_calendar(fwd), weekday

    def play(
        self,
        plans: Sequence[Plan],
        days: int,
        replications: int = 1,
        seed: int = 0,
    ) -> Iterator[tuple[int, str, pd.DataFrame]]:
        """Replay each plan ``days`` forward, ``replications`` times; yield per-subscriber outcomes.

        Parameters
        ----------
        plans : sequence of Plan
            The policies; the baseline ``none`` (no broadcast) is added first.
        days : int
            Length of the forward window.
        replications : int, default 1
            Independent replays (random streams) of every plan.
        seed : int, default 0
            Seed of the replays' random streams (the world's own seed fixes everything else).

        Yields
        ------
        (replication, plan name, DataFrame)
            One frame per replication, plan and chunk, indexed by ``subscriber_id``, with the
            columns :data:`OUTCOMES`: broadcasts sent, emails delivered (flows too), broadcasts
            sent beyond the subscriber's true fatigue threshold, unsubscribed and complained
            (0/1, any email of the window), ``conversions`` (the probability of at least one
            order in the window, as ``truth_responses.conversion_prob``), expected orders and
            expected revenue.
        """
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        names = [p.name for p in plans]
        if "none" in names or len(set(names)) != len(names):
            raise ValueError(f"plan names must be distinct and not 'none': {names}")
        none = Plan("none", np.zeros(self.n, bool))
        cal, weekday = self._forward_calendar(days)
        for k, sim in enumerate(self.chunks()):
            lo, hi = sim.sid0 - 1, sim.sid0 - 1 + sim.n
            for r in range(replications):
                ss = np.random.SeedSequence([REPLAY_STREAM, int(seed), r, k])
                for plan in (none, *plans):
                    out = _forward(sim, plan, lo, hi, cal, weekday, days, ss, self.usual)
                    yield r, plan.name, out


def _forward(
    base: ChunkSimulator,
    plan: Plan,
    lo: int,
    hi: int,
    cal: object,
    weekday: np.ndarray,
    days: int,
    ss: np.random.SeedSequence,
    usual: tuple[int, ...],
) -> pd.DataFrame:
    """One plan on one chunk: a copy of the end state played ``days`` forward."""
    sim = copy.copy(base)
    n, D = sim.n, base.D
    for name in (
        "stage",
        "stage_since",
        "last_open_day",
        "unsub",
        "unsub_ts",
        "bounced",
        "react_sent",
        "recent",
        "recent_n",
        "recent_b",
        "cart_day",
        "last_send",
    ):
        setattr(sim, name, getattr(base, name).copy())
    # day-indexed state counted from the forward window's first day
    for name in ("stage_since", "last_open_day", "cart_day"):
        setattr(sim, name, getattr(sim, name) - D)
    sim.signup_day = base.signup_day - D
    sim.dropout_day = base.dropout_day - D
    sim.cal, sim.D = cal, days
    sim.rng = np.random.default_rng(ss)
    sim.C = np.zeros((len(EFFECT_CHANNELS), n, days), np.float32)
    sim.eng_ts = np.zeros((n, days), np.int64)
    counter = _Counter(n)
    sim.ev, sim.tp, sim.life, sim.asg = counter, _Null(), _Null(), _Null()
    sim.flow_first = {}
    sim.prog_arm, sim.prog_R, sim.prog_X, sim.prog_d0 = {}, {}, {}, {}
    sim.prog_entry, sim.prog_once = {}, {}
    sim.cad_surv, sim.cad_reach = {}, {}
    on = plan.send[lo:hi].astype(bool)
    usual_mask = weekday_mask(usual)
    wmask = (
        np.full(n, usual_mask, np.int64)
        if plan.weekdays is None
        else plan.weekdays[lo:hi].astype(np.int64)
    )
    content = None if plan.content is None else plan.content[lo:hi].astype(np.int64)
    start_unsub = sim.unsub.copy()
    broadcasts = np.zeros(n, np.int64)
    fatigued = np.zeros(n, np.int64)
    stage = np.zeros((n, days), np.int8)
    by_day: dict[int, list] = {}
    for c in cal.campaigns:  # type: ignore[attr-defined]
        if c.kind == "broadcast":
            by_day.setdefault(c.day, []).append(c)
    for d in range(days):
        sim._lifecycle(d)
        stage[:, d] = sim.stage
        for c in by_day.get(d, []):
            t = int(cal.slot(d))  # type: ignore[attr-defined]
            if c.channel != "email":
                sim._other_channel(c, d, t)
                continue
            t += c.offset  # email broadcasts at their own hour
            day_bit = 1 << int(weekday[d])
            elig = sim._reachable(d, t) & on & ((wmask & day_bit) != 0)
            idx = np.flatnonzero(elig)
            ci = CONTENT_CATEGORIES.index(c.content_category)
            what: int | np.ndarray = ci
            if content is not None:
                own = content[idx]
                what = np.where(own >= 0, own, ci)
            broadcasts[idx] += 1
            fatigued[idx] += sim.recent_n[idx] + 1 > sim.tol[idx]
            jitter = sim.rng.integers(0, 600, idx.size)
            sim._send_email(idx, d, t + jitter, c.campaign_id, what)
        sim._flows(d)
        sim._ads_search_cart(d)
        sim.recent_n -= sim.recent[:, (d + 1) % 7]
        sim.recent[:, (d + 1) % 7] = 0
        sim.recent_b[:, (d + 1) % 7] = 0
    alive = np.arange(days)[None, :] < sim.dropout_day[:, None]
    H = (sim.rate[:, None] * PURCHASE_MULT[stage]).astype(np.float32)
    for c in sim.C:
        out = c * KERNEL[0]
        for k in range(1, KERNEL.size):
            out[:, k:] += c[:, :-k] * KERNEL[k]
        H += out
    H *= alive
    H64 = H.astype(np.float64)
    orders = (-np.expm1(-H64)).sum(1)
    converted = -np.expm1(-H64.sum(1))
    uns = sim.unsub & ~start_unsub
    comp = counter.counts[6] > 0
    return pd.DataFrame(
        {
            "broadcasts": broadcasts,
            "delivered": counter.counts[1],
            "fatigued": fatigued,
            "unsubscribed": (uns & ~comp).astype(np.int64),
            "complained": comp.astype(np.int64),
            "conversions": converted,
            "orders": orders,
            "revenue": orders * sim.value_mean,
        },
        index=pd.Index(np.arange(n, dtype=np.int64) + sim.sid0, name="subscriber_id"),
    )


__all__ = ["OUTCOMES", "Plan", "WorldReplay", "cadence_mask", "weekday_mask"]
