"""Simulate one chunk of subscribers: people, sends, ESP events, touches, orders and the truth.

Data flow of a chunk (everything vectorised over the chunk's subscribers, looping only over days)::

    subscribers + latent traits  ->  day loop: lifecycle step, broadcasts / flows / SMS / push /
    in-app sends (consent, unsubscribes, bounces, holdouts, test arms), ESP events, fatigue,
    retargeting / search / cart touches; each touch adds a true order hazard to a per-channel
    matrix C[channel] (subscribers x days)
    ->  hazard H = base x lifecycle + sum of kernel-smoothed C   ->  orders where U < 1 - exp(-H)

Every subscriber also has a true *dropout* (buy-till-you-die): a dropout rate ``mu`` drawn from
``Gamma(lifetime_shape, rate=lifetime_shape * lifetime_days)`` of their persona and a dropout time
``clock start + Exponential(mu)``, the clock starting at signup or at the scenario start (the first
slot), whichever is later. Subscribers already on the list at the start are taken as customers who
had not stopped by then: their history before the start is not simulated, so their lifetime is
counted from the start (memoryless given their rate). From the day of the dropout on, the order
hazard ``H`` (base and every channel) is 0, in the factual world and in every counterfactual; the
dropout changes nothing else (a customer who stopped buying still opens, clicks and browses).

``U`` is one uniform per subscriber-day (common random numbers): switching a channel off removes
its matrix from ``H`` and re-decides every order with the same ``U``, which gives
``truth_channels``. ``truth_effects`` uses the same hazards: the expected conversion of each
recipient under each arm (exact mixture over open / click outcomes for tests on one send; expected
hazard for holdout programs and cadence tests; for a cadence test every arm's schedule is
played forward for each participant with its fatigue and its chance of still being reachable).

After the period, a *holdout* of ``scenario.holdout_days`` days is simulated for the truth only
(``truth_subscribers.holdout_orders``, ``holdout_revenue``, ``expected_holdout_orders``): day by
day, at most one order a day, with the business-as-usual hazard -- base rate x the lifecycle
multiplier of the final stage + the subscriber's mean smoothed marketing hazard over the last
:data:`MARKETING_DAYS` days of the period -- and 0 from the dropout day on; order values come from
the subscriber's own value distribution.

The dropout and the holdout draw from their own stream (:func:`lifetime_rng`, derived from the
chunk's seed), so every other draw of the world is the same with any lifetimes: only the orders
(and what follows from them: their navigational visits, ``truth_effects``, ``truth_channels``)
move.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.schema import CHANNELS, EVENT_TYPES
from workbench.synth.calendar import DAY, Calendar, span
from workbench.synth.personas import (
    ACQUISITION_SOURCES,
    CONTENT_CATEGORIES,
    PRODUCT_CATEGORIES,
    REGIONS,
    RESPONSE_KEYS,
)
from workbench.synth.scenario import InboxSpec, Scenario

#: Integer codes of event types and touch channels: positions in the contract's tuples.
EVENT_CODES = EVENT_TYPES
TOUCH_CHANNELS = CHANNELS
INTERACTIONS = ("impression", "click", "open")
#: Lifecycle stages (``truth_lifecycle.stage``); index 0 = not yet signed up.
STAGES = ("pre_signup", "new", "active", "lapsing", "lapsed", "reactivated")
ENGAGEMENT_MULT = np.array([0.0, 1.15, 1.0, 0.45, 0.12, 0.9])
PURCHASE_MULT = np.array([0.0, 0.7, 1.0, 0.4, 0.1, 0.9])
#: Decay of a touch's order hazard over the day of the touch and the following days.
KERNEL = np.array([1.0, 0.5, 0.25], dtype=np.float32)
#: Channels with a true effect, in the order of the hazard matrices.
EFFECT_CHANNELS = ("email", "sms", "push", "in_app", "paid_retargeting", "organic_search")
HARD_BOUNCE = 0.002
#: Chance that a retargeting impression is clicked.
RETARGETING_CLICK = 0.05
NEW_DAYS, LAPSING_DAYS, REACTIVATED_DAYS = 14, 30, 21
#: Spawn key appended to the chunk's seed for the dropout and holdout stream (ASCII "life").
LIFETIME_STREAM = 0x6C696665
#: Days at the end of the period whose mean marketing hazard carries on into the holdout.
MARKETING_DAYS = 28
#: Latest dropout time (seconds): far beyond any holdout, inside the contract's time range.
DROPOUT_CAP = int(dt.datetime(2199, 1, 1, tzinfo=dt.UTC).timestamp())


#: Resolution of the attention tables of the ``after_delivery`` open timing: offsets between the
#: local delivery hour and the preferred hour in quarter hours, time after delivery in 10-minute
#: steps up to :data:`ATTENTION_HORIZON_H` hours (later opens are not drawn).
_OFFSET_BINS, _STEP_H = 96, 1 / 6
ATTENTION_HORIZON_H = 72


def _touch_hazard(
    po: np.ndarray, pc: np.ndarray, g_open: np.ndarray, g_click: np.ndarray
) -> np.ndarray:
    """The expected hazard of an email, for the truth of holdout programs.

    An email adds ``g_open`` to the order hazard when it is opened (chance ``po``), ``g_click``
    when it is also clicked (chance ``pc`` given the open), spread over days by :data:`KERNEL`.
    Returned is the hazard ``x`` with ``exp(-k x) = E[exp(-k G)]`` (``k`` the kernel's total):
    an order's chance is concave in the hazard, so the plain mean ``po (g_open + pc (g_click -
    g_open))`` would overstate the exposed arm's conversion (Jensen's inequality).
    """
    k = float(KERNEL.sum())
    miss = po * (1 - (1 - pc) * np.exp(-k * g_open) - pc * np.exp(-k * g_click))
    return -np.log1p(-miss) / k


@functools.lru_cache(maxsize=8)
def _attention_tables(inbox: InboxSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per quarter-hour offset: the CDF of the open time after delivery and the total attention.

    Row ``b`` is an email delivered ``b / 4`` hours after the preferred local hour (mod 24).
    """
    s = (np.arange(int(ATTENTION_HORIZON_H / _STEP_H)) + 0.5) * _STEP_H
    off = np.arange(_OFFSET_BINS) * (24 / _OFFSET_BINS)
    bump = np.exp(inbox.sharpness * (np.cos(2 * np.pi * (off[:, None] + s[None, :]) / 24) - 1))
    a = np.exp(-s / inbox.attention_hours)[None, :] * (inbox.floor + (1 - inbox.floor) * bump)
    total = a.sum(1) * _STEP_H
    return np.cumsum(a, 1) / a.sum(1, keepdims=True), total


def hour_fit(
    local_hour: np.ndarray | float,
    preferred_hour: np.ndarray | float,
    inbox: InboxSpec | None = None,
) -> np.ndarray:
    """True relative chance that a subscriber opens an email delivered at ``local_hour``.

    Under the ``after_delivery`` open timing (:class:`~workbench.synth.scenario.InboxSpec`) an
    email's chance to be opened is proportional to the attention it gets before it sinks in the
    inbox, ``A``, which is largest when it lands just before the preferred hour; the open
    probability is multiplied by ``1 - hour_effect + hour_effect * A / mean(A)`` (mean over the
    24 hours, so a random send hour keeps the persona's open rate on average).

    Parameters
    ----------
    local_hour, preferred_hour : array-like or float
        Hours of the day in ``[0, 24)`` (any real number is taken mod 24).
    inbox : InboxSpec, optional
        The world's inbox model (``truth_scenario.json``'s ``scenario.inbox``); default the
        ``after_delivery`` model with its default parameters.

    Returns
    -------
    numpy.ndarray
        The multiplier (1 on average over the day), broadcast over the inputs.
    """
    inbox = inbox or InboxSpec(open_timing="after_delivery")
    _, total = _attention_tables(inbox)
    x = np.mod(np.asarray(local_hour, float) - np.asarray(preferred_hour, float), 24)
    pos = x * (_OFFSET_BINS / 24)
    lo = np.floor(pos).astype(np.int64) % _OFFSET_BINS
    w = pos - np.floor(pos)
    a = total[lo] * (1 - w) + total[(lo + 1) % _OFFSET_BINS] * w
    return 1 - inbox.hour_effect + inbox.hour_effect * a / total.mean()


@dataclass
class _Buf:
    """Column buffers of one output table, filled by appends and concatenated once."""

    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **arrays: Any) -> None:
        n = next(np.size(a) for a in arrays.values() if np.ndim(a))
        for k, a in arrays.items():
            self.cols.setdefault(k, []).append(
                np.broadcast_to(a, (n,)) if np.ndim(a) == 0 else np.asarray(a)
            )

    def concat(self, dtypes: dict[str, Any]) -> dict[str, np.ndarray]:
        return {
            k: (
                np.concatenate(self.cols[k]).astype(t, copy=False)
                if self.cols.get(k)
                else np.empty(0, t)
            )
            for k, t in dtypes.items()
        }


@dataclass
class ChunkResult:
    """Columns of every per-subscriber table of one chunk plus truth accumulators."""

    subscribers: dict[str, np.ndarray]
    truth_subscribers: dict[str, np.ndarray]
    lifecycle: dict[str, np.ndarray]
    email_events: dict[str, np.ndarray]
    touchpoints: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    assignments: dict[str, np.ndarray]
    # (experiment index, persona index, arm index) -> [n, sum conversion prob, sum revenue]
    effects: np.ndarray
    # channel -> [conversions, conversions_without, revenue, revenue_without]
    channels: np.ndarray
    flow_first: dict[int, int]
    # truth_responses: experiment index, subscriber index (in the chunk), arm index, expected
    # conversion and revenue of each participant under each arm
    responses: dict[str, np.ndarray] = field(default_factory=dict)


class ChunkSimulator:
    """Simulate subscribers ``sid0 .. sid0+n-1`` of a world with one RNG.

    Parameters
    ----------
    scenario : Scenario
    calendar : Calendar
    sid0 : int
        First subscriber id of the chunk.
    n : int
        Number of subscribers in the chunk.
    rng : numpy.random.Generator
        The chunk's own generator (from ``SeedSequence(seed).spawn``, keyed by chunk index).
    life_rng : numpy.random.Generator, optional
        The stream of the dropout and the holdout; default :func:`lifetime_rng` of ``rng``.
    """

    def __init__(
        self,
        scenario: Scenario,
        calendar: Calendar,
        sid0: int,
        n: int,
        rng: np.random.Generator,
        life_rng: np.random.Generator | None = None,
    ) -> None:
        self.sc, self.cal, self.sid0, self.n, self.rng = scenario, calendar, sid0, n, rng
        self.life_rng = lifetime_rng(rng) if life_rng is None else life_rng
        self.pnames = list(scenario.shares)
        self.personas = [scenario.personas[p] for p in self.pnames]
        arms: list[str] = []
        for e in calendar.experiments:
            arms += [a for a in e.arms if a not in arms]
        self.variants = arms
        self.D = calendar.days

    # ------------------------------------------------------------------ per-persona parameter
    def _pp(self, attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in self.personas], dtype=float)[self.persona]

    def _pmat(self, attr: str, keys: tuple[str, ...], default: float) -> np.ndarray:
        return np.array([[getattr(p, attr).get(k, default) for k in keys] for p in self.personas])

    # ---------------------------------------------------------------------------- people
    def _people(self) -> None:
        rng, n, sc, cal = self.rng, self.n, self.sc, self.cal
        shares = np.array([sc.shares[p] for p in self.pnames])
        self.persona = rng.choice(len(shares), size=n, p=shares / shares.sum())
        regions = list(REGIONS)
        rmat = self._pmat("regions", tuple(regions), 0.0)
        self.region = _choice_rows(rng, rmat[self.persona])
        self.tz = np.array(list(REGIONS.values()))[self.region]
        amat = self._pmat("acquisition", ACQUISITION_SOURCES, 0.0)
        self.acq = _choice_rows(rng, amat[self.persona])
        # signup: new ones during the period (never in the last 3 days), others up to 2 years before
        is_new = rng.random(n) < self._pp("new_share")
        span = max(self.D - 3, 1) * DAY
        recent = rng.random(n) < 0.05
        before = np.where(recent, rng.uniform(0, 14 * DAY, n), rng.uniform(14 * DAY, 730 * DAY, n))
        self.signup = np.where(is_new, cal.slot0 + rng.uniform(0, span, n), cal.slot0 - before)
        self.signup = self.signup.astype(np.int64)
        self.signup_day = np.floor_divide(self.signup - cal.slot0, DAY)
        # keep signups clear of a slot's last hour (orders must follow the signup)
        late = (self.signup - cal.slot0) % DAY > DAY - 3600
        self.signup[late] -= 3600
        cons = self._pmat("consent", ("email", "sms", "push"), 0.0)[self.persona]
        c = rng.random((n, 3)) < cons
        self.email_ok, self.sms_ok, self.push_ok = c[:, 0], c[:, 1], c[:, 2]
        # latent traits
        ln = lambda s: np.exp(rng.normal(0, s, n) - s * s / 2)  # noqa: E731
        spread = self._pp("engagement_sd")
        self.open_p = np.clip(self._pp("open_rate") * ln(spread), 0, 0.9)
        self.click_p = np.clip(self._pp("click_rate") * ln(spread), 0, 0.8)
        self.tol = self._pp("cadence_tolerance") * ln(0.2)
        self.machine = rng.random(n) < self._pp("machine_open_share")
        sd = self._pp("hour_sd")
        self.wd_hour = np.mod(self._pp("weekday_hour") + rng.normal(0, 1, n) * sd, 24)
        self.we_hour = np.mod(self._pp("weekend_hour") + rng.normal(0, 1, n) * sd, 24)
        shape = self._pp("purchase_shape")
        self.rate = rng.gamma(shape, self._pp("purchase_rate") / shape)
        self.sigma = self._pp("order_value_sigma")
        self.mu = np.log(self._pp("order_value_median")) + rng.normal(0, 0.2, n)
        self.value_mean = np.exp(self.mu + self.sigma**2 / 2)
        self.aff = self._pmat("content_affinity", CONTENT_CATEGORIES, 1.0)  # persona x content
        self.resp = {
            k: self._pmat("channel_response", (k,), 0.0)[self.persona, 0] for k in RESPONSE_KEYS
        }
        # lifecycle: initial stage
        stage = np.full(n, 2, np.int8)
        tenure = cal.slot0 - self.signup
        stage[tenure < NEW_DAYS * DAY] = 1
        lapsing = np.array([p.name == "lapsing" for p in self.personas])[self.persona]
        r = rng.random(n)
        stage[(stage == 2) & lapsing & (r < 0.5)] = 3
        stage[(stage == 2) & lapsing & (r >= 0.5) & (r < 0.7)] = 4
        stage[self.signup_day >= 0] = 0
        self.stage = stage
        self.initial_stage = np.where(stage == 0, 1, stage).astype(np.int8)
        self.stage_since = np.where(stage == 1, self.signup_day, -rng.integers(0, 20, n))
        back = np.select(
            [stage == 3, stage == 4],
            [rng.integers(20, 40, n), rng.integers(45, 120, n)],
            rng.integers(0, 10, n),
        )
        self.last_open_day = np.where(self.signup_day >= 0, self.signup_day, -back)

    def _lifetimes(self) -> None:
        """Dropout rate, time and day of every subscriber (from :attr:`life_rng` only)."""
        rng, cal = self.life_rng, self.cal
        shape = self._pp("lifetime_shape")
        self.dropout_rate = rng.gamma(shape, 1.0 / (shape * self._pp("lifetime_days")))
        e = rng.standard_exponential(self.n)
        with np.errstate(divide="ignore", over="ignore"):
            life = e / self.dropout_rate * DAY  # seconds (inf when the rate underflows to 0)
        clock = np.maximum(self.signup, cal.slot0).astype(float)
        self.dropout_ts = np.fmin(clock + life, DROPOUT_CAP).astype(np.int64)
        # the first day without orders: the day the dropout falls in
        self.dropout_day = np.floor_divide(self.dropout_ts - cal.slot0, DAY)

    # ---------------------------------------------------------------------------- main
    def run(self) -> ChunkResult:
        """Simulate the chunk and return its tables and truth accumulators."""
        self.run_days()
        return self._finish()

    def run_days(self) -> None:
        """People, lifetimes and the day loop: the state at the end of the period, before orders.

        :meth:`run` is this followed by the orders and the truth; the strategy lab
        (:mod:`workbench.synth.replay`) starts its forward replays from this state.
        """
        self._people()
        self._lifetimes()
        n, D, cal = self.n, self.D, self.cal
        self.ev, self.tp, self.life, self.asg = _Buf(), _Buf(), _Buf(), _Buf()
        self.C = np.zeros((len(EFFECT_CHANNELS), n, D), np.float32)
        # the lifecycle had no email been sent (same uniforms; no opens): truth_channels
        self.stage_ne, self.since_ne = self.stage.copy(), self.stage_since.copy()
        self.stage_ne_mat = np.zeros((n, D), np.int8)
        self.eng_ts = np.zeros((n, D), np.int64)  # latest engagement per slot (order timing)
        self.unsub = np.zeros(n, bool)
        self.unsub_ts = np.full(n, np.iinfo(np.int64).min)
        self.last_send = np.full(n, np.iinfo(np.int64).min)
        self.bounced = np.zeros(n, bool)
        self.react_sent = np.zeros(n, bool)
        self.react_expected = np.zeros(n, bool)  # the email holdout's exposed arm, expected
        self.recent = np.zeros((n, 7), np.int16)  # emails delivered, last 7 days (ring)
        self.recent_n = np.zeros(n, np.int16)  # its row sums, kept up to date
        self.recent_b = np.zeros((n, 7), np.int16)  # of which broadcasts
        self.cart_day = np.full(n, -99)
        self.flow_first: dict[int, int] = {}
        E = len(cal.experiments)
        A = max((len(e.arms) for e in cal.experiments), default=1)
        # last axis: n, conversion, revenue, then (cadence tests) delivered, opens, unsubscribes
        self.effects = np.zeros((max(E, 1), len(self.personas), A, 6))
        self.tests: list[dict[str, Any]] = []
        self._assign_programs()
        old = np.flatnonzero(self.signup_day < 0)  # new signups are logged by _lifecycle
        self.life.add(
            sid=old,
            day=np.zeros(old.size, np.int64),
            ts=np.full(old.size, cal.slot0),
            stage=self.initial_stage[old],
        )
        by_day: dict[int, list] = {}
        for c in cal.campaigns:
            if c.kind == "broadcast":
                by_day.setdefault(c.day, []).append(c)
        for d in range(D):
            self._lifecycle(d)
            for i in self.cad_surv:
                if d == cal.experiment_day[i]:  # who could receive email when the test starts
                    self.cad_reach[i] = self._reachable(d, int(cal.slot(d)))
            for c in by_day.get(d, []):
                self._broadcast(c, d)
            self._flows(d)
            self._ads_search_cart(d)
            self.recent_n -= self.recent[:, (d + 1) % 7]
            self.recent[:, (d + 1) % 7] = 0
            self.recent_b[:, (d + 1) % 7] = 0

    # ------------------------------------------------------------------ experiments (programs)
    def _assign_programs(self) -> None:
        """Programs (holdouts, cadence tests): the base at the start, balanced random arms.

        ``prog_R[i]`` (subscribers x window days) is the realised hazard of the sends the
        program governs, ``prog_X[i]`` (arms x subscribers x window days) their expected hazard
        under each arm; ``prog_d0[i]`` is the window's first day.
        """
        cal, rng = self.cal, self.rng
        self.prog_arm: dict[int, np.ndarray] = {}
        self.prog_R: dict[int, np.ndarray] = {}
        self.prog_X: dict[int, np.ndarray] = {}
        self.prog_d0: dict[int, int] = {}
        self.cad_surv: dict[int, np.ndarray] = {}  # arms x subscribers: expected still reachable
        self.cad_reach: dict[int, np.ndarray] = {}
        self.prog_entry: dict[int, np.ndarray] = {}  # flow holdouts: each one's entry day
        self.prog_once: dict[int, np.ndarray] = {}  # flow holdouts: reactivation expected
        for i, e in enumerate(cal.experiments):
            if e.kind == "flow_holdout":  # arms drawn now, rows written on entering the flow
                start = cal.experiment_day[i]
                width = min(span(e), self.D - start)
                self.prog_arm[i] = _balanced(rng, self.n, e.shares)
                self.prog_entry[i] = np.full(self.n, -1, np.int64)
                self.prog_once[i] = np.zeros(self.n, bool)
                self.prog_d0[i] = start
                self.prog_R[i] = np.zeros((self.n, width), np.float32)
                self.prog_X[i] = np.zeros((len(e.arms), self.n, width), np.float32)
                continue
            if e.kind not in ("segmentation_holdout", "channel_holdout", "cadence_test"):
                continue
            start = cal.experiment_day[i]
            width = min(e.length_days, self.D - start)
            idx = np.flatnonzero(self.signup_day < start)
            arm = np.full(self.n, -1, np.int64)
            if e.kind == "cadence_test":  # bucket 0 = not enrolled
                shares = (1 - e.base_share, *(e.base_share * np.asarray(e.shares)))
                arm[idx] = _balanced(rng, len(idx), shares) - 1
                idx = idx[arm[idx] >= 0]
                self.cad_surv[i] = np.ones((len(e.arms), self.n))
            else:
                arm[idx] = _balanced(rng, len(idx), e.shares)
            self.prog_arm[i] = arm
            self.prog_d0[i] = start
            self.prog_R[i] = np.zeros((self.n, width), np.float32)  # realized contribution
            self.prog_X[i] = np.zeros((len(e.arms), self.n, width), np.float32)  # expected
            ts = int(cal.slot(start))
            self.asg.add(
                exp=np.full(len(idx), i),
                sid=idx,
                arm=arm[idx],
                ts=np.full(len(idx), ts),
                hold=np.asarray(e.arms)[arm[idx]] == "holdout",
            )

    def _program(self, kind: str, d: int, channel: str | None = None) -> int | None:
        for i, e in enumerate(self.cal.experiments):
            s = self.cal.experiment_day[i]
            if (
                e.kind == kind
                and s <= d < s + e.length_days
                and (channel is None or e.channel == channel)
            ):
                return i
        return None

    # ---------------------------------------------------------------------------- lifecycle
    def _lifecycle(self, d: int) -> None:
        u = self.rng.random(self.n)
        new = self._next_stage(d, u, self.stage, self.stage_since, self.last_open_day >= d - 1)
        moved = np.flatnonzero(new != self.stage)
        if moved.size:
            ts = np.where(new[moved] == 1, self.signup[moved], self.cal.slot(d))
            self.life.add(sid=moved, day=np.full(moved.size, d), ts=ts, stage=new[moved])
            self.stage_since[moved] = d
        self.stage = new
        # the same day without any email: nobody has opened one
        ne = self._next_stage(d, u, self.stage_ne, self.since_ne, np.zeros(self.n, bool))
        self.since_ne[ne != self.stage_ne] = d
        self.stage_ne = ne
        self.stage_ne_mat[:, d] = ne

    def _next_stage(
        self, d: int, u: np.ndarray, st: np.ndarray, since: np.ndarray, opened_recently: np.ndarray
    ) -> np.ndarray:
        """Each subscriber's lifecycle stage after day ``d`` (``u``: one uniform each)."""
        days_in = d - since
        churn = self._pp_cache("churn_hazard")
        react = self._pp_cache("reactivation_rate")
        changes = [
            ((st == 0) & (self.signup_day == d), 1),
            ((st == 1) & (days_in >= NEW_DAYS), 2),
            ((st == 2) & (u < churn), 3),
            ((st == 3) & (u < react * np.where(opened_recently, 4, 1)), 5),
            ((st == 3) & (days_in >= LAPSING_DAYS) & (u >= react), 4),
            ((st == 4) & (u < react * np.where(opened_recently, 4, 0.5)), 5),
            ((st == 5) & (days_in >= REACTIVATED_DAYS), 2),
        ]
        new = st.copy()
        for m, s in changes:
            new[m & (new == st)] = s
        return new

    def _pp_cache(self, attr: str) -> np.ndarray:
        key = f"_cache_{attr}"
        if not hasattr(self, key):
            setattr(self, key, self._pp(attr))
        return getattr(self, key)

    # ---------------------------------------------------------------------------- email
    def _reachable(self, d: int, t: int) -> np.ndarray:
        return self.email_ok & ~self.unsub & ~self.bounced & (self.signup < t) & (self.stage > 0)

    def _email_probs(
        self,
        idx: np.ndarray,
        content: int | np.ndarray,
        open_mult: np.ndarray | float = 1.0,
        recent: np.ndarray | None = None,
        t_send: np.ndarray | int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Human open and click probabilities of an email now (``recent``: emails in 7 days).

        ``t_send``: when it is delivered (seconds; an array over ``idx``, or one time), for the
        send-hour effect of the ``after_delivery`` open timing (:func:`hour_fit`).
        """
        open_mult = open_mult * self._hour_mult(idx, t_send)
        p = self.persona[idx]
        aff = self.aff[p, content]
        if recent is None:
            recent = self.recent_n[idx]
        excess = np.maximum(0, recent - self.tol[idx])
        em = ENGAGEMENT_MULT[self.stage[idx]]
        po = np.clip(self.open_p[idx] * em * aff * open_mult * np.exp(-0.35 * excess), 0, 0.95)
        pc = np.clip(self.click_p[idx] * aff, 0, 0.9)
        return po, pc

    def _local_pref(self, idx: np.ndarray, t: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Local hour of time ``t`` for ``idx`` and their preferred hour of that day type."""
        local = t + (self.tz[idx] * 3600).astype(np.int64)
        hour = (local % DAY) / 3600
        weekend = ((local // DAY + 3) % 7) >= 5
        return hour, np.where(weekend, self.we_hour[idx], self.wd_hour[idx])

    def _timed(self) -> bool:
        """True when the send hour matters (the ``after_delivery`` open timing)."""
        return self.sc.inbox.open_timing == "after_delivery"

    def _hour_mult(self, idx: np.ndarray, t_send: np.ndarray | int | None) -> np.ndarray | float:
        if t_send is None or not self._timed():
            return 1.0
        return hour_fit(*self._local_pref(idx, t_send), self.sc.inbox)

    def _send_email(
        self,
        idx: np.ndarray,
        d: int,
        t_send: np.ndarray,
        cid: int,
        content: int | np.ndarray,
        variant: np.ndarray | int = -1,
        open_mult: np.ndarray | float = 1.0,
        conv_mult: np.ndarray | float = 1.0,
        prog: list[int] | None = None,
        broadcast: bool = True,
    ) -> np.ndarray:
        """Send one email to ``idx`` at ``t_send``; return the realized hazard contribution.

        Draws, in this order: five uniforms per recipient, then the delays of bounces,
        deliveries, machine opens, human opens, clicks and unsubscribes (the order fixes the
        world for a seed).
        """
        m = idx.size
        if m == 0:
            return np.zeros(0, np.float32)
        t_send = np.broadcast_to(np.asarray(t_send, np.int64), (m,))
        po, pc = self._email_probs(idx, content, open_mult, t_send=t_send)
        u = self.rng.random((m, 5))
        ok, t_del, var = self._deliver(idx, d, t_send, cid, variant, u[:, 0], broadcast)
        di = idx[ok]
        human, click, t_open, t_click = self._open_click(
            di, d, cid, var, t_del, u[ok, 1] < po[ok], u[ok, 2] < pc[ok]
        )
        self._unsubscribe(di, cid, var, human, t_open, t_del, u[ok, 3], u[ok, 4])
        # order timing and the true hazard of the touch
        day_of = np.minimum(np.floor_divide(t_open - self.cal.slot0, DAY), self.D - 1)
        eng = human & (day_of == d)
        self.eng_ts[di[eng], d] = np.maximum(
            self.eng_ts[di[eng], d], np.where(click, t_click, t_open)[eng]
        )
        g = np.zeros(m, np.float32)
        g[ok] = (self.resp["email_open"][di] * human + self.resp["email_click"][di] * click) * _sub(
            conv_mult, ok
        )
        self.C[0, idx, d] += g
        for i in prog or []:
            self.prog_R[i][idx, d - self.prog_d0[i]] += g
        return g

    def _deliver(
        self,
        idx: np.ndarray,
        d: int,
        t_send: np.ndarray,
        cid: int,
        variant: np.ndarray | int,
        u_bounce: np.ndarray,
        broadcast: bool,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | int]:
        """Sent, bounced, delivered and machine-open events; count the send towards fatigue.

        Returns the delivered mask over ``idx``, the delivery times and the delivered variants.
        """
        rng = self.rng
        bounce = u_bounce < HARD_BOUNCE
        self.ev.add(sid=idx, cid=cid, var=variant, et=0, ts=t_send, mo=False)
        self.last_send[idx] = np.maximum(self.last_send[idx], t_send)
        b = idx[bounce]
        self.ev.add(
            sid=b,
            cid=cid,
            var=_sub(variant, bounce),
            et=5,
            ts=t_send[bounce] + rng.integers(2, 120, b.size),
            mo=False,
        )
        self.bounced[b] = True
        ok = ~bounce
        di, t_del = idx[ok], t_send[ok] + rng.integers(1, 30, int(ok.sum()))
        var = _sub(variant, ok)
        self.ev.add(sid=di, cid=cid, var=var, et=1, ts=t_del, mo=False)
        self.recent[di, d % 7] += 1
        self.recent_n[di] += 1
        if broadcast:
            self.recent_b[di, d % 7] += 1
        mach = self.machine[di]
        self.ev.add(
            sid=di[mach],
            cid=cid,
            var=_sub(var, mach),
            et=2,
            ts=t_del[mach] + rng.integers(2, 900, int(mach.sum())),
            mo=True,
        )
        return ok, t_del, var

    def _open_click(
        self,
        di: np.ndarray,
        d: int,
        cid: int,
        var: np.ndarray | int,
        t_del: np.ndarray,
        human: np.ndarray,
        clicks: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Human opens and clicks of the delivered ``di`` (events and touchpoints).

        ``human`` and ``clicks`` are the drawn open and click-given-open outcomes. Returns the
        open mask, the click mask and the open and click times.
        """
        t_open = t_del + self._open_delay(di, t_del)
        hi = di[human]
        self.ev.add(sid=hi, cid=cid, var=_sub(var, human), et=2, ts=t_open[human], mo=False)
        self.tp.add(sid=hi, ts=t_open[human], ch=0, cid=cid, it=2)
        self.last_open_day[hi] = np.maximum(self.last_open_day[hi], d)
        click = human & clicks
        t_click = t_open + self.rng.integers(5, 600, di.size)
        self.ev.add(sid=di[click], cid=cid, var=_sub(var, click), et=3, ts=t_click[click], mo=False)
        self.tp.add(sid=di[click], ts=t_click[click], ch=0, cid=cid, it=1)
        return human, click, t_open, t_click

    def _unsubscribe(
        self,
        di: np.ndarray,
        cid: int,
        var: np.ndarray | int,
        human: np.ndarray,
        t_open: np.ndarray,
        t_del: np.ndarray,
        u_unsub: np.ndarray,
        u_complaint: np.ndarray,
    ) -> None:
        """Unsubscribes and complaints of the delivered ``di``, more likely when fatigued."""
        rng = self.rng
        excess = np.maximum(0, self.recent_n[di] - self.tol[di])
        pu = self._pp_cache("unsubscribe_rate")[di] * (1 + excess)
        pcmp = self._pp_cache("complaint_rate")[di] * (1 + excess)
        t_base = np.where(human, t_open, t_del + rng.integers(600, 6 * 3600, di.size))
        # after every send so far: nothing is ever sent after unsubscribed_ts
        t_u = np.maximum(t_base + rng.integers(20, 900, di.size), self.last_send[di] + 60)
        uns = u_unsub < pu
        cmp_ = ~uns & (u_complaint < pcmp)
        for mask, et in ((uns, 4), (cmp_, 6)):
            self.ev.add(sid=di[mask], cid=cid, var=_sub(var, mask), et=et, ts=t_u[mask], mo=False)
            self.unsub[di[mask]] = True
            self.unsub_ts[di[mask]] = t_u[mask]

    def _open_delay(self, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Seconds from delivery to a human open (see :class:`InboxSpec`).

        ``next_preferred_hour``: the next preferred local hour, one in five right away.
        ``after_delivery``: drawn from the attention intensity (decaying after delivery, peaking
        at the preferred hour), by inverting its tabulated CDF.
        """
        rng, m = self.rng, idx.size
        if self._timed():
            hour, pref = self._local_pref(idx, t)
            cdf, _ = _attention_tables(self.sc.inbox)
            b = np.rint(np.mod(hour - pref, 24) * (_OFFSET_BINS / 24)).astype(np.int64)
            b %= _OFFSET_BINS
            u, jit = rng.random(m), rng.random(m)
            k = np.zeros(m, np.int64)
            for row in np.unique(b):
                at = b == row
                k[at] = np.searchsorted(cdf[row], u[at])
            k = np.minimum(k, cdf.shape[1] - 1)
            return np.maximum(60, ((k + jit) * _STEP_H * 3600).astype(np.int64))
        local = t + (self.tz[idx] * 3600).astype(np.int64)
        hour = (local % DAY) / 3600
        weekend = ((local // DAY + 3) % 7) >= 5
        target = np.where(weekend, self.we_hour[idx], self.wd_hour[idx])
        wait = np.mod(target - hour + rng.normal(0, 0.4, m), 24)
        soon = rng.random(m) < 0.2
        wait = np.where(soon, rng.exponential(0.4, m), wait)
        return np.maximum(60, (wait * 3600).astype(np.int64))

    def _broadcast(self, c: Any, d: int) -> None:
        cal, rng = self.cal, self.rng
        t = int(cal.slot(d))
        ci = CONTENT_CATEGORIES.index(c.content_category)
        if c.channel != "email":
            self._other_channel(c, d, t)
            return
        tb = t + c.offset  # the broadcast's send time (varied hours: calendar.send_hours_utc)
        elig = self._reachable(d, tb)
        seg = self._program("segmentation_holdout", d)
        chh = self._program("channel_holdout", d, "email")
        prog = [i for i in (seg, chh) if i is not None]
        if chh is not None:
            self._expected_program(chh, elig, d, ci, exposed_arm=0, t_send=tb)
            elig &= self.prog_arm[chh] != 1
        cad = self._program("cadence_test", d)
        extra = cad is not None and c.experiment == cad
        if cad is not None:
            self._expected_cadence(cad, d, ci, tb)
            arm = self.prog_arm[cad]
            gets = self.cal.cadence[cad][np.maximum(arm, 0), d]
            elig &= np.where(arm >= 0, gets, not extra)
            prog.append(cad)
        mass = elig.copy()
        segmented = np.zeros(self.n, bool)
        if seg is not None:
            arm = self.prog_arm[seg]
            self._expected_seg(seg, elig, d, ci, tb, t)
            mass = elig & (arm != 2) & (arm != 1)
            segmented = elig & (arm == 1)
        idx = np.flatnonzero(mass)
        jitter = rng.integers(0, 600, idx.size)
        if extra:
            var = np.asarray([self.variants.index(a) for a in self.cal.experiments[cad].arms])
            var = var[self.prog_arm[cad][idx]]
            self._send_email(idx, d, tb + jitter, c.campaign_id, ci, var, prog=prog)
        elif c.experiment is not None:
            self._send_test(c, d, idx, tb + jitter, ci, prog)
        else:
            var = (
                -1
                if seg is None
                else np.where(self.prog_arm[seg][idx] == 0, self.variants.index("mass"), -1)
            )
            self._send_email(idx, d, tb + jitter, c.campaign_id, ci, var, prog=prog)
        if segmented.any():
            self._send_segmented(seg, segmented, d, t, c.campaign_id, prog)

    def _seg_params(self, idx: np.ndarray, e_i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segmented send: best content for the persona, its own lift, respectful cadence."""
        e = self.cal.experiments[e_i]
        best = np.argmax(self.aff, axis=1)[self.persona[idx]]
        lift = np.array([e.lift(p, "segmented") for p in self.personas])[self.persona[idx]]
        fits = self.recent_n[idx] < self.tol[idx]
        return best, lift, fits

    def _preferred_send(self, idx: np.ndarray, t: int) -> np.ndarray:
        """A quarter hour before each subscriber's preferred local hour, within slot ``t``."""
        hour, target = self._local_pref(idx, t)
        return t + (np.mod(target - 0.25 - hour, 24) * 3600).astype(np.int64)

    def _expected_seg(
        self, i: int, elig: np.ndarray, d: int, ci: int, t_mass: int, t_slot: int
    ) -> None:
        idx = np.flatnonzero(elig & (self.prog_arm[i] >= 0))
        po, pc = self._email_probs(idx, ci, t_send=t_mass)
        ro, rc = self.resp["email_open"][idx], self.resp["email_click"][idx]
        g_mass = _touch_hazard(po, pc, ro, ro + rc)
        best, lift, fits = self._seg_params(idx, i)
        t_pref = self._preferred_send(idx, t_slot) if self._timed() else None
        po2, pc2 = self._email_probs(idx, best, 1 + 0.3 * lift, t_send=t_pref)
        g_seg = _touch_hazard(po2, pc2, ro * (1 + lift), (ro + rc) * (1 + lift)) * fits
        j = d - self.prog_d0[i]
        self.prog_X[i][0, idx, j] += g_mass
        self.prog_X[i][1, idx, j] += g_seg

    def _send_segmented(
        self, i: int, mask: np.ndarray, d: int, t: int, cid: int, prog: list[int]
    ) -> None:
        idx = np.flatnonzero(mask)
        best, lift, fits = self._seg_params(idx, i)
        idx, best, lift = idx[fits], best[fits], lift[fits]
        # send at the subscriber's preferred local hour within the slot
        t_send = self._preferred_send(idx, t)
        self._send_email(
            idx,
            d,
            t_send,
            cid,
            best,
            self.variants.index("segmented"),
            1 + 0.3 * lift,
            1 + lift,
            prog,
        )

    def _send_test(
        self, c: Any, d: int, idx: np.ndarray, t_send: np.ndarray, ci: int, prog: list[int]
    ) -> None:
        e_i = c.experiment
        e = self.cal.experiments[e_i]
        arm = _balanced(self.rng, idx.size, e.shares)
        self.asg.add(
            exp=np.full(idx.size, e_i),
            sid=idx,
            arm=arm,
            ts=np.full(idx.size, int(self.cal.slot(d))),
            hold=False,
        )
        lift = np.array([[e.lift(p, a) for a in e.arms] for p in self.personas])  # P x A
        L = lift[self.persona[idx]]  # m x A
        om = np.clip(1 + 0.3 * L, 0.3, 2.0)
        la = L[np.arange(idx.size), arm]
        var = np.array([self.variants.index(a) for a in e.arms])[arm]
        # probabilities under every arm (before the send changes fatigue counts)
        po_all = np.stack(
            [self._email_probs(idx, ci, om[:, a], t_send=t_send)[0] for a in range(len(e.arms))],
            1,
        )
        pc = self._email_probs(idx, ci)[1]
        g = self._send_email(
            idx, d, t_send, c.campaign_id, ci, var, om[np.arange(idx.size), arm], 1 + la, prog
        )
        bounced = self.bounced[idx]
        po_all[bounced] = 0.0
        self.tests.append(dict(e=e_i, d=d, idx=idx, po=po_all, pc=pc, L=L, g=g))

    def _expected_program(
        self,
        i: int,
        elig: np.ndarray,
        d: int,
        ci: int,
        exposed_arm: int,
        t_send: np.ndarray | int | None = None,
    ) -> None:
        """Add the expected hazard of an email to the exposed arm of program ``i``.

        ``t_send``: its send time (one time, or an array over all subscribers).
        """
        idx = np.flatnonzero(elig & (self.prog_arm[i] >= 0))
        if isinstance(t_send, np.ndarray) and t_send.ndim:
            t_send = t_send[idx]
        po, pc = self._email_probs(idx, ci, t_send=t_send)
        ro, rc = self.resp["email_open"][idx], self.resp["email_click"][idx]
        self.prog_X[i][exposed_arm, idx, d - self.prog_d0[i]] += _touch_hazard(po, pc, ro, ro + rc)

    def _expected_cadence(self, i: int, d: int, ci: int, t_send: int) -> None:
        """Expected broadcast hazard, opens and unsubscribes of each participant under each arm.

        Every arm follows its own schedule from the window start: fatigue counts the
        subscriber's actual flow emails of the last 7 days plus the arm's scheduled broadcasts,
        and the chance of still being reachable falls with each expected bounce, unsubscribe or
        complaint.
        """
        e, sched = self.cal.experiments[i], self.cal.cadence[i]
        idx = np.flatnonzero(self.cad_reach[i] & (self.prog_arm[i] >= 0))
        flows = self.recent_n[idx] - self.recent_b[idx].sum(1)
        cum = np.concatenate([np.zeros((len(e.arms), 1), np.int64), np.cumsum(sched, 1)], 1)
        lo = np.clip(self.signup_day[idx] + 1, d - 6, d)  # count days lo .. d-1
        ro, rc = self.resp["email_open"][idx], self.resp["email_click"][idx]
        pu0 = self._pp_cache("unsubscribe_rate")[idx]
        pq0 = self._pp_cache("complaint_rate")[idx]
        pers = self.persona[idx]
        P = len(self.personas)
        for a in np.flatnonzero(sched[:, d]):
            recent = flows + cum[a, d] - cum[a, lo]
            po, pc = self._email_probs(idx, ci, recent=recent, t_send=t_send)
            excess = np.maximum(0, recent - self.tol[idx])
            pu, pq = pu0 * (1 + excess), pq0 * (1 + excess)
            alive = self.cad_surv[i][a, idx]
            deliv = alive * (1 - HARD_BOUNCE)
            self.prog_X[i][a, idx, d - self.prog_d0[i]] += _touch_hazard(
                deliv * po, pc, ro, ro + rc
            )
            self.cad_surv[i][a, idx] = deliv * (1 - pu - (1 - pu) * pq)
            for k, w in ((3, deliv), (4, deliv * po), (5, deliv * pu)):
                self.effects[i, :, a, k] += np.bincount(pers, weights=w, minlength=P)

    # ---------------------------------------------------------------------- other channels
    def _other_channel(self, c: Any, d: int, t: int) -> None:
        rng = self.rng
        ch = c.channel
        k = EFFECT_CHANNELS.index(ch)
        consent = self.sms_ok if ch == "sms" else self.push_ok
        elig = consent & (self.signup < t) & (self.stage > 0)
        if ch == "in_app":  # shown when the app is opened that day
            elig &= rng.random(self.n) < 0.35
        resp = self.resp[ch]
        rate = {"sms": "sms_click_rate", "push": "push_open_rate", "in_app": "in_app_click_rate"}
        p_act = np.clip(self._pp_cache(rate[ch]) * ENGAGEMENT_MULT[self.stage] * 1.0, 0, 1)
        chh = self._program("channel_holdout", d, ch)
        prog = []
        if chh is not None:
            idx_x = np.flatnonzero(elig & (self.prog_arm[chh] >= 0))
            self.prog_X[chh][0, idx_x, d - self.prog_d0[chh]] += resp[idx_x] * (
                1 + 2 * p_act[idx_x]
            )
            elig &= self.prog_arm[chh] != 1
            prog.append(chh)
        idx = np.flatnonzero(elig)
        m = idx.size
        ts = t + rng.integers(0, 900, m) if ch != "in_app" else t + rng.integers(0, DAY - 3600, m)
        act = rng.random(m) < p_act[idx]
        it_imp, it_act = 0, (2 if ch == "push" else 1)
        self.tp.add(sid=idx, ts=ts, ch=TOUCH_CHANNELS.index(ch), cid=c.campaign_id, it=it_imp)
        t_act = ts[act] + rng.integers(10, 1800, int(act.sum()))
        self.tp.add(
            sid=idx[act], ts=t_act, ch=TOUCH_CHANNELS.index(ch), cid=c.campaign_id, it=it_act
        )
        g = (resp[idx] * (1 + 2 * act)).astype(np.float32)
        self.C[k, idx, d] += g
        for i in prog:
            self.prog_R[i][idx, d - self.prog_d0[i]] += g
        self.eng_ts[idx[act], d] = np.maximum(self.eng_ts[idx[act], d], t_act)

    # ---------------------------------------------------------------------------- flows
    def _flows(self, d: int) -> None:
        """The day's flow emails: welcome series, cart reminders, we-miss-you.

        An email holdout keeps its held-out arm out of every flow; a flow holdout keeps the
        held-out entrants of its flow out of that flow (:meth:`_flow_gate`).
        """
        cal, rng = self.cal, self.rng
        t = int(cal.slot(d))
        reach = self._reachable(d, t + DAY)  # signups later in this slot get welcome_1
        chh = self._program("channel_holdout", d, "email")
        everyone = reach  # with an email holdout: who would get a flow email if exposed
        if chh is not None:
            reach = reach & (self.prog_arm[chh] != 1)
        prog = [chh] if chh is not None else []
        timed = self._timed()

        def expect(mask: np.ndarray, content: str, t_send: np.ndarray | int) -> None:
            if chh is not None:
                ci = CONTENT_CATEGORIES.index(content)
                self._expected_program(chh, mask, d, ci, 0, t_send if timed else None)

        for step, lag in (("welcome_1", 0), ("welcome_2", 2), ("welcome_3", 5)):
            c = cal.flow_campaign(step)
            if c is None:
                continue
            t_exp = self.signup + 300 if lag == 0 else t + 450
            due = self.signup_day == d - lag
            expect(everyone & due, "new_arrivals", t_exp)
            ok, fp = self._flow_gate(
                "welcome", d, reach & due, t_exp, "new_arrivals", enter=lag == 0, t_start=t_exp
            )
            idx = np.flatnonzero(ok)
            ts = self.signup[idx] + 300 if lag == 0 else t + rng.integers(0, 900, idx.size)
            self._flow_send(c.campaign_id, idx, d, ts, "new_arrivals", prog + fp)
        c = cal.flow_campaign("cart_reminder")
        if c is not None:
            due = self.cart_day == d - 1
            expect(everyone & due, "deals", t + 5400)
            ok, fp = self._flow_gate(
                "cart_abandonment", d, reach & due, t + 5400, "deals", t_start=t
            )
            idx = np.flatnonzero(ok)
            ts = t + rng.integers(0, 3 * 3600, idx.size)
            self._flow_send(c.campaign_id, idx, d, ts, "deals", prog + fp)
        c = cal.flow_campaign("we_miss_you")
        if c is not None:
            due = (self.last_open_day <= d - 30) & (self.signup_day <= d - 30)
            if chh is not None:  # once per subscriber, in the exposed arm's world too
                hyp = everyone & due & ~self.react_expected & ~self.react_sent
                expect(hyp, "deals", t + 450)
                self.react_expected |= hyp
            ok, fp = self._flow_gate(
                "reactivation", d, reach & due & ~self.react_sent, t + 450, "deals", t_start=t
            )
            idx = np.flatnonzero(ok)
            self.react_sent[idx] = True
            ts = t + rng.integers(0, 900, idx.size)
            self._flow_send(c.campaign_id, idx, d, ts, "deals", prog + fp)

    def _flow_gate(
        self,
        flow: str,
        d: int,
        due: np.ndarray,
        t_mean: np.ndarray | int,
        content: str,
        enter: bool = True,
        t_start: np.ndarray | int = 0,
    ) -> tuple[np.ndarray, list[int]]:
        """Who of ``due`` gets today's email of ``flow``, and the flow holdout governing it.

        During a flow holdout's entry window, a subscriber due for the flow (``enter``: its
        first step) enters the experiment once: an ``assignments`` row at ``t_start`` (the start
        of the day's send, the same time for both arms: no email of the flow goes out before
        it). From entry to the end of the holdout the held-out entrants get none of the flow's
        emails; for entrants of both arms the expected hazard of each email had they been
        exposed (sent at ``t_mean``, the middle of its send window) is kept for the truth.
        """
        i = next(
            (
                j
                for j in self.prog_entry
                if self.cal.experiments[j].flow == flow
                and self.prog_d0[j] <= d < self.prog_d0[j] + span(self.cal.experiments[j])
            ),
            None,
        )
        if i is None:
            return due, []
        e, entry, arm = self.cal.experiments[i], self.prog_entry[i], self.prog_arm[i]
        if enter and d < self.prog_d0[i] + e.length_days:
            new = np.flatnonzero(due & (entry < 0))
            entry[new] = d
            ts = t_start[new] if isinstance(t_start, np.ndarray) else np.full(new.size, t_start)
            self.asg.add(exp=np.full(new.size, i), sid=new, arm=arm[new], ts=ts, hold=arm[new] == 1)
        inside = due & (entry >= 0)
        if flow == "reactivation":  # sent once: held-out entrants stay due, expect it once
            inside &= ~self.prog_once[i]
            self.prog_once[i] |= inside
        # both arms: the expected hazard had the entrant been exposed (the truth's counterfactual)
        ci = CONTENT_CATEGORIES.index(content)
        self._expected_program(i, inside, d, ci, 0, t_mean if self._timed() else None)
        return due & ~(due & (entry >= 0) & (arm == 1)), [i]

    def _flow_send(
        self, cid: int, idx: np.ndarray, d: int, ts: np.ndarray, content: str, prog: list[int]
    ) -> None:
        if idx.size == 0:
            return
        ts = np.asarray(ts, np.int64)
        first = int(ts.min())
        self.flow_first[cid] = min(self.flow_first.get(cid, first), first)
        self._send_email(
            idx, d, ts, cid, CONTENT_CATEGORIES.index(content), prog=prog, broadcast=False
        )

    # ----------------------------------------------------------------- ads, search, carts
    def _ads_search_cart(self, d: int) -> None:
        rng, n, t = self.rng, self.n, int(self.cal.slot(d))
        present = (self.stage > 0) & (self.signup < t + DAY)
        pm = PURCHASE_MULT[self.stage]
        u = rng.random((n, 4))
        cart = present & (u[:, 0] < self._pp_cache("cart_rate") * pm)
        self.cart_day[cart] = d
        recent_cart = (self.cart_day >= d - 3) & (self.cart_day < d)
        imp = present & (u[:, 1] < 0.01 + 0.5 * recent_cart)
        chh = self._program("channel_holdout", d, "paid_retargeting")
        if chh is not None:  # the holdout sees no ads; both arms' expected hazard if shown
            part = np.flatnonzero(imp & (self.prog_arm[chh] >= 0))
            self.prog_X[chh][0, part, d - self.prog_d0[chh]] += self.resp["paid_retargeting"][
                part
            ] * (1 + 3 * RETARGETING_CLICK)
            imp &= self.prog_arm[chh] != 1
        idx = np.flatnonzero(imp)
        ts = t + rng.integers(0, DAY - 3600, idx.size)
        self.tp.add(sid=idx, ts=ts, ch=4, cid=-1, it=0)
        clk = u[idx, 2] < RETARGETING_CLICK
        self.tp.add(
            sid=idx[clk], ts=ts[clk] + rng.integers(1, 30, int(clk.sum())), ch=4, cid=-1, it=1
        )
        g = (self.resp["paid_retargeting"][idx] * (1 + 3 * clk)).astype(np.float32)
        self.C[4, idx, d] += g
        if chh is not None:
            self.prog_R[chh][idx, d - self.prog_d0[chh]] += g
        self.eng_ts[idx[clk], d] = np.maximum(self.eng_ts[idx[clk], d], ts[clk] + 30)
        srch = np.flatnonzero(present & (u[:, 3] < self._pp_cache("search_rate") * pm))
        ts = t + rng.integers(0, DAY - 3600, srch.size)
        self.tp.add(sid=srch, ts=ts, ch=5, cid=-1, it=1)
        self.C[5, srch, d] += self.resp["organic_search"][srch]
        self.eng_ts[srch, d] = np.maximum(self.eng_ts[srch, d], ts)

    # ---------------------------------------------------------------------------- orders
    def _finish(self) -> ChunkResult:
        rng, n, D, cal = self.rng, self.n, self.D, self.cal
        # hazards: base x lifecycle + kernel-smoothed channel matrices
        life = self.life.concat(
            {"sid": np.int64, "day": np.int64, "ts": np.int64, "stage": np.int8}
        )
        stage_mat = _stage_matrix(life, n, D)
        H = (self.rate[:, None] * PURCHASE_MULT[stage_mat]).astype(np.float32)
        # what email adds to the base hazard by keeping subscribers in buying stages
        H_ne_gap = H - (self.rate[:, None] * PURCHASE_MULT[self.stage_ne_mat]).astype(np.float32)
        del stage_mat
        # no orders from the dropout day on, in the factual world and every counterfactual
        self.alive = np.arange(D)[None, :] < self.dropout_day[:, None]
        H *= self.alive
        H_ne_gap *= self.alive
        w = min(MARKETING_DAYS, D)
        marketing = np.zeros(n)  # mean smoothed marketing hazard of the last w days
        Ck = self.C  # smoothed in place, channel by channel
        for c in Ck:
            _smooth_inplace(c)
            marketing += c[:, D - w :].sum(1, dtype=np.float64) / w
            c *= self.alive
            H += c
        self._holdout(marketing)
        U = rng.random((n, D), dtype=np.float32)
        order = U < -np.expm1(-H)
        # without email the lifecycle differs too, so the hazard may rise in some cells:
        # every cell is re-decided with the same U (orders new there are worth the mean value)
        H_ne_gap += Ck[0]
        without_email = U < -np.expm1(-(H - H_ne_gap))
        del H_ne_gap
        new_ne = without_email & ~order
        ne_new_conv = int(new_ne.sum())
        ne_new_rev = float(self.value_mean[np.nonzero(new_ne)[0]].sum())
        del new_ne
        # orders only happen where they happen in the factual world (H - C_k <= H): the
        # counterfactual without channel k re-decides just those cells with the same U
        si, di = np.nonzero(order)
        del order
        Hs, Us = H[si, di], U[si, di]
        ne_kept = without_email[si, di]
        del U, without_email
        z = rng.standard_normal(si.size, dtype=np.float32)
        vals = np.round(np.exp(self.mu[si] + self.sigma[si] * z), 2)
        channels = np.zeros((len(EFFECT_CHANNELS) + 1, 4))
        conv, rev = si.size, float(vals.sum())
        for k in range(len(EFFECT_CHANNELS)):
            o2 = Us < -np.expm1(-(Hs - Ck[k][si, di]))
            channels[k] = conv, o2.sum(), rev, float(vals[o2].sum())
        channels[0] = (
            conv,
            ne_kept.sum() + ne_new_conv,
            rev,
            float(vals[ne_kept].sum()) + ne_new_rev,
        )
        channels[-1] = conv, conv, rev, rev  # direct: no true effect
        self._truth_effects(H, Ck[0])
        # the factual orders
        slot = cal.slot0 + di.astype(np.int64) * DAY
        ts = slot + 1800 + (rng.random(si.size) * (DAY - 1800)).astype(np.int64)
        ts = np.maximum(ts, np.maximum(self.signup[si] + 600, self.eng_ts[si, di] + 60))
        ts = np.minimum(ts, slot + DAY - 1)
        pref = self._pmat("category_preferences", PRODUCT_CATEGORIES, 0.0)
        cat = _choice_rows(rng, pref[self.persona[si]])
        items = 1 + rng.poisson(vals / 90.0)
        # every order is preceded by a navigational visit: direct or organic search
        nav = np.where(rng.random(si.size) < 0.6, 6, 5)
        self.tp.add(sid=si, ts=ts - rng.integers(60, 1200, si.size), ch=nav, cid=-1, it=1)
        orders = dict(sid=si.astype(np.int64), ts=ts, revenue=vals, n_items=items, cat=cat)
        return self._result(life, orders, channels)

    def _holdout(self, marketing: np.ndarray) -> None:
        """Orders of the holdout after the period (truth only; from :attr:`life_rng`).

        Day by day, at most one order a day, with the hazard base rate x the lifecycle
        multiplier of the final stage + ``marketing`` (the mean smoothed marketing hazard of the
        period's last days), and none from the dropout day on. ``holdout_expected`` is the
        expected count given the dropout time: the daily order probability times the days
        still alive.
        """
        rng, n, D, days = self.life_rng, self.n, self.D, self.sc.holdout_days
        stage = np.where(self.stage == 0, 1, self.stage)
        p = -np.expm1(-(self.rate * PURCHASE_MULT[stage] + marketing))
        alive_days = np.clip(self.dropout_day - D, 0, days)
        u = rng.random((n, days))
        hit = (u < p[:, None]) & (np.arange(days)[None, :] < alive_days[:, None])
        self.holdout_orders = hit.sum(1).astype(np.int64)
        self.holdout_expected = p * alive_days
        sid = np.repeat(np.arange(n), self.holdout_orders)
        z = rng.standard_normal(sid.size)
        vals = np.round(np.exp(self.mu[sid] + self.sigma[sid] * z), 2)
        self.holdout_revenue = np.bincount(sid, weights=vals, minlength=n)

    def _truth_effects(self, H: np.ndarray, C_email_k: np.ndarray) -> None:
        """Expected conversion and revenue per recipient under every arm, summed by persona.

        The per-recipient values are kept too (:attr:`resp_buf`: ``truth_responses``).
        """
        cal = self.cal
        self.resp_buf = _Buf()
        for t in self.tests:
            e = cal.experiments[t["e"]]
            d0, d1 = t["d"], min(t["d"] + e.conversion_window_days, self.D)
            idx = t["idx"]
            k = KERNEL[: d1 - d0] if d1 - d0 < KERNEL.size else np.pad(KERNEL, (0, d1 - d0 - 3))
            lam0 = H[idx, d0:d1] - t["g"][:, None] * k[None, : d1 - d0]
            lam0 = np.maximum(lam0, 0)
            alive = self.alive[idx, d0:d1]  # the dropout holds under every arm
            po, pc, L = t["po"], t["pc"], t["L"]
            ro, rc = self.resp["email_open"][idx], self.resp["email_click"][idx]
            v = self.value_mean[idx]
            pers = self.persona[idx]
            for a in range(len(e.arms)):
                g_open = (ro * (1 + L[:, a]))[:, None] * k[None, :]
                g_click = ((ro + rc) * (1 + L[:, a]))[:, None] * k[None, :]
                p_o = po[:, a][:, None]
                outcomes = (
                    (1 - p_o, lam0),
                    (p_o * (1 - pc[:, None]), (lam0 + g_open) * alive),
                    (p_o * pc[:, None], (lam0 + g_click) * alive),
                )
                conv = sum(w[:, 0] * -np.expm1(-lam.sum(1)) for w, lam in outcomes)
                rev = sum((w * -np.expm1(-lam)).sum(1) for w, lam in outcomes) * v
                self._acc(t["e"], pers, a, conv, rev)
                self.resp_buf.add(exp=t["e"], sid=idx, arm=a, conv=conv, rev=rev)
        for i, arm in self.prog_arm.items():
            e = cal.experiments[i]
            d0 = cal.experiment_day[i]
            d1 = min(d0 + span(e), self.D)
            idx = np.flatnonzero(arm >= 0 if i not in self.prog_entry else self.prog_entry[i] >= 0)
            R = _smooth(self.prog_R[i][idx])[:, : d1 - d0]
            lam0 = np.maximum(H[idx, d0:d1] - R, 0)
            win: np.ndarray | float = 1.0
            if i in self.prog_entry:  # a flow holdout: the W days from each entrant's entry
                j = np.arange(d1 - d0)[None, :] + d0 - self.prog_entry[i][idx][:, None]
                win = (j >= 0) & (j < e.conversion_window_days)
                lam0 = lam0 * win
            X = self.prog_X[i]
            v = self.value_mean[idx]
            for a, name in enumerate(e.arms):
                lam = (
                    lam0
                    if name == "holdout"
                    else (lam0 + _smooth(X[a][idx])[:, : d1 - d0] * win) * self.alive[idx, d0:d1]
                )
                conv = -np.expm1(-lam.sum(1))
                rev = (-np.expm1(-lam)).sum(1) * v
                self._acc(i, self.persona[idx], a, conv, rev)
                self.resp_buf.add(exp=i, sid=idx, arm=a, conv=conv, rev=rev)

    def _acc(self, e: int, pers: np.ndarray, a: int, conv: np.ndarray, rev: np.ndarray) -> None:
        P = len(self.personas)
        self.effects[e, :, a, 0] += np.bincount(pers, minlength=P)
        self.effects[e, :, a, 1] += np.bincount(pers, weights=conv, minlength=P)
        self.effects[e, :, a, 2] += np.bincount(pers, weights=rev, minlength=P)

    def _result(
        self, life: dict[str, np.ndarray], orders: dict[str, np.ndarray], channels: np.ndarray
    ) -> ChunkResult:
        sid0 = self.sid0
        unsub_ts = np.where(self.unsub, self.unsub_ts, np.iinfo(np.int64).min)
        subs = dict(
            subscriber_id=np.arange(self.n, dtype=np.int64) + sid0,
            signup_ts=self.signup,
            region=self.region,
            tz_offset_h=self.tz,
            acquisition_source=self.acq,
            email_consent=self.email_ok,
            sms_consent=self.sms_ok,
            push_consent=self.push_ok,
            unsubscribed_ts=unsub_ts,
        )
        final = self.stage
        truth = dict(
            persona=self.persona,
            open_prob=self.open_p,
            click_prob=self.click_p,
            fatigue_threshold=self.tol,
            weekday_hour=self.wd_hour,
            weekend_hour=self.we_hour,
            purchase_rate=self.rate,
            mean_order_value=self.value_mean,
            uses_machine_open_client=self.machine,
            initial_stage=self.initial_stage,
            final_stage=np.where(final == 0, 1, final),
            dropout_ts=self.dropout_ts,
            alive_at_end=self.dropout_day >= self.D,
            holdout_orders=self.holdout_orders,
            holdout_revenue=self.holdout_revenue,
            expected_holdout_orders=self.holdout_expected,
        )
        ev = self.ev.concat(
            {
                "sid": np.int64,
                "cid": np.int64,
                "var": np.int64,
                "et": np.int8,
                "ts": np.int64,
                "mo": bool,
            }
        )
        tp = self.tp.concat(
            {"sid": np.int64, "ts": np.int64, "ch": np.int8, "cid": np.int64, "it": np.int8}
        )
        asg = self.asg.concat(
            {"exp": np.int64, "sid": np.int64, "arm": np.int64, "ts": np.int64, "hold": bool}
        )
        resp = self.resp_buf.concat(
            {"exp": np.int64, "sid": np.int64, "arm": np.int64, "conv": float, "rev": float}
        )
        return ChunkResult(
            subs, truth, life, ev, tp, orders, asg, self.effects, channels, self.flow_first, resp
        )


# -------------------------------------------------------------------------------- helpers


def lifetime_rng(rng: np.random.Generator) -> np.random.Generator:
    """The dropout and holdout stream of a chunk, derived from the chunk generator's seed.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator, made from a :class:`numpy.random.SeedSequence`.

    Returns
    -------
    numpy.random.Generator
        A generator on the seed sequence with the same entropy and spawn key plus
        :data:`LIFETIME_STREAM`: independent of ``rng`` and of every other chunk, the same for
        the same seed, and drawing from it leaves ``rng`` untouched.

    Raises
    ------
    ValueError
        If ``rng`` was not seeded from a seed sequence.
    """
    ss = rng.bit_generator.seed_seq
    if not isinstance(ss, np.random.SeedSequence):
        raise ValueError("the chunk generator must be seeded from a numpy SeedSequence")
    child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, LIFETIME_STREAM))
    return np.random.default_rng(child)


def _sub(a: Any, mask: np.ndarray) -> Any:
    """``a[mask]`` for arrays, ``a`` for scalars."""
    return a[mask] if np.ndim(a) else a


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(1), probs.shape[1] - 1)


def _balanced(rng: np.random.Generator, m: int, shares: tuple[float, ...]) -> np.ndarray:
    """Randomised arms with counts as close to ``shares`` as integers allow."""
    counts = np.floor(np.asarray(shares) * m).astype(np.int64)
    rest = m - counts.sum()
    counts[np.argsort(-(np.asarray(shares) * m - counts), kind="stable")[:rest]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def _smooth_inplace(c: np.ndarray) -> None:
    """:func:`_smooth` in place (``KERNEL[0]`` is 1), with one temporary copy."""
    src = c.copy()
    for k in range(1, KERNEL.size):
        c[..., k:] += src[..., :-k] * KERNEL[k]


def _smooth(c: np.ndarray) -> np.ndarray:
    """Spread each day's touch hazard over the following days with :data:`KERNEL`."""
    out = c * KERNEL[0]
    for k in range(1, KERNEL.size):
        out[..., k:] += c[..., :-k] * KERNEL[k]
    return out


def _stage_matrix(life: dict[str, np.ndarray], n: int, D: int) -> np.ndarray:
    """Lifecycle stage of every subscriber on every day from the transition log."""
    order = np.lexsort((life["day"], life["sid"]))
    sid, day, stage = life["sid"][order], life["day"][order], life["stage"][order]
    mat = np.zeros((n, D), np.int8)
    # each transition holds from its day until the next transition of the same subscriber
    nxt = np.r_[day[1:], D]
    same = np.r_[sid[1:] == sid[:-1], False]
    end = np.where(same, nxt, D)
    # pre-signup days stay 0: the first record of new subscribers starts at signup
    lengths = np.maximum(end - day, 0)
    rows = np.repeat(sid, lengths)
    cols = np.repeat(day - np.cumsum(np.r_[0, lengths[:-1]]), lengths) + np.arange(lengths.sum())
    mat[rows, cols] = np.repeat(stage, lengths)
    return mat
