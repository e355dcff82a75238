"""Send-time optimisation: each subscriber's best local send hour, pooled with their segment's.

:class:`SendTimeModel` learns from :func:`~workbench.timing.data.open_hours` (one row per
delivered email: local delivery hour, first human open) at which local hour each subscriber
reads email, and recommends that hour for sending.

The confounding it removes
--------------------------
Most opens come within hours of delivery. Counting opens by local hour therefore mostly counts
*when emails arrived*: a list mailed at 09:00 "opens at 09:00-11:00" whatever its readers
prefer, and the circular mean of a subscriber's open hours is pulled towards the hours they were
mailed. An open at 10:00 of an email delivered at 09:55 says little; an open at 21:00 of the same
email says a lot. The model below reads every open against the hours the email *could* have been
opened in (and, with ``evidence="both"``, every delivered email -- opened or not -- against the
hour it arrived).

The model in plain words
------------------------
Each subscriber *s* has an unknown preferred local hour ``z_s`` (one of ``n_bins`` slots of the
day: half-hours by default). An email delivered at local hour ``d``

1. is opened by a person with probability ``rho_s * F(d - z_s)``: ``rho_s`` is the subscriber's
   engagement and ``F`` (:attr:`~SendTimeModel.delivery_fit_`) says how much an email arriving
   that far from the preferred hour loses. This part enters the likelihood only with
   ``evidence="both"``: on the default world, where the hour changes the open probability
   little and engagement drifts over the months, it made the hours worse;
2. if opened, is opened ``u`` hours after delivery with a density proportional to
   ``k(u) * T(d + u - z_s)``: ``k`` (:attr:`~SendTimeModel.decay_`) is how fast an email sinks
   in the inbox, ``T`` (:attr:`~SendTimeModel.attention_`) how attention is spread around the
   preferred hour. The density's normaliser -- ``k * T`` summed over the ``cap_hours`` after
   delivery -- is the email's *exposure*: the hours it spent in the inbox, each weighted by how
   fresh the email was and how attentive the reader.

``F``, ``T`` and ``k`` are shared by everyone and learnt from the data (one value per slot of the
day, per band of hours since delivery: no shape is assumed); ``T``'s peak defines the preferred
hour. Given them, each subscriber's evidence gives a likelihood for every candidate hour ``z``
(the engagement ``rho_s`` integrated out under a Gamma prior fitted to the list: opens are
negative binomial). Machine opens never enter (:func:`~workbench.timing.data.open_hours` drops
them).

The hierarchy over the hours: in segment *g*, ``z_s`` is drawn from the segment's distribution
over the day ``w_g`` (:attr:`~SendTimeModel.segment_prior_`), itself drawn from a Dirichlet
centred on the whole list's distribution ``w_0`` with concentration ``alpha``
(:attr:`~SendTimeModel.concentration_`, in pseudo-subscribers). The templates and the
distributions are estimated by maximising the marginal likelihood of all the evidence with the
EM algorithm (empirical Bayes: how far a subscriber is pulled towards the segment follows from
how spread the segment's distribution is and how sharp their own evidence is); ``alpha`` is
chosen among :data:`CONCENTRATIONS` by the *cross-fitted* marginal likelihood -- the segments'
distributions estimated on half of their members score the other half, and the other way round
-- since in-sample marginal likelihood credits a segment for predicting its own members and then
refuses any pooling, even for segments drawn at random. Each
subscriber's posterior over the day is then the segment's distribution reweighted by their own
evidence (:attr:`~SendTimeModel.posterior_`): a subscriber without history keeps the segment's
distribution, one with many opens is placed by them.

The recommended hour is the Bayes decision under each distribution: the hour of the day with the
least expected circular distance to the preferred hour (23:30 and 00:30 are one hour apart). With
``target="attention"`` it is instead the delivery time whose email gets the most expected
attention before it sinks (``k * T`` summed after delivery): a little before the preferred hour
when emails sink fast, which is what maximises opens when the open probability follows
attention.

Emails delivered less than ``cap_hours`` before the data ends are left out (their window is
cut short), and so are opens later than ``cap_hours`` after delivery.

Methods
-------
``global``: one hour for everyone (the decision under ``w_0``). ``segment``: one hour per segment
(under ``w_g``). ``subscriber``: the subscriber's own evidence only (a flat prior over the day;
the global hour without opens). ``subscriber_naive``: the circular mean of the subscriber's human
open hours (what a per-subscriber "preferred hour" usually is; the list's circular mean without
opens). ``shrunk`` (default): the posterior above. All five come from one fit
(:attr:`~SendTimeModel.all_hours_`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from workbench.errors import DataError, EstimatorInputError

__all__ = [
    "EVIDENCE",
    "METHODS",
    "TARGETS",
    "SendTimeModel",
    "circular_distance",
    "recommend_all",
]

#: The methods of :class:`SendTimeModel`, with a line of explanation each.
METHODS: dict[str, str] = {
    "global": "one hour for everyone",
    "segment": "one hour per segment",
    "subscriber": "the subscriber's own evidence only (no pooling)",
    "subscriber_naive": "circular mean of the subscriber's human open hours",
    "shrunk": "the subscriber's evidence pooled with the segment's distribution (empirical Bayes)",
}
#: What the subscriber's evidence is made of.
EVIDENCE: dict[str, str] = {
    "both": "when emails were opened (given their delivery) and which deliveries were opened",
    "timing": "when emails were opened, given their delivery, only",
}
#: What the recommended hour aims at.
TARGETS: dict[str, str] = {
    "preferred": "the preferred hour itself (least expected circular distance)",
    "attention": "the delivery hour whose email gets the most expected attention",
}
#: Bands of hours since delivery over which the inbox decay ``k`` is constant.
DECAY_EDGES: tuple[float, ...] = (0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 168)
#: Label of the subscribers without a segment when segments are given.
UNSEGMENTED = "unsegmented"
_REQUIRED = ("subscriber_id", "delivered_hour", "opened", "open_hour", "hours_to_open")
_STEP = 0.25  # hours: resolution of delivery times in the exposure tables
_SLOTS = 96  # delivery slots of _STEP hours in a day
_DECISION_GRID = np.arange(0.0, 24.0, 0.05)


# ------------------------------------------------------------------------------ circular helpers


def circular_distance(a: Any, b: Any) -> Any:
    """Distance in hours between clock hours around the day (23.5 and 0.5 are 1 h apart).

    Parameters
    ----------
    a, b : float or array-like
        Hours (any real numbers; taken modulo 24).

    Returns
    -------
    float or ndarray
        Values in [0, 12].
    """
    d = np.mod(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), 24.0)
    out = np.minimum(d, 24.0 - d)
    return float(out) if out.ndim == 0 else out


def _circular_mean(hours: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Circular mean hour per group (NaN for a group without hours)."""
    a = 2 * np.pi * hours / 24
    s = np.bincount(groups, np.sin(a), n_groups)
    c = np.bincount(groups, np.cos(a), n_groups)
    n = np.bincount(groups, minlength=n_groups)
    out = np.mod(np.arctan2(s, c) * 24 / (2 * np.pi), 24)
    return np.where(n > 0, out, np.nan)


def _smooth(x: np.ndarray, sd_bins: float) -> np.ndarray:
    """Circular Gaussian smoothing along the last axis (``sd_bins`` in bins)."""
    if sd_bins <= 0:
        return x
    n = x.shape[-1]
    lag = np.arange(-(n // 2), n - n // 2)
    w = np.exp(-0.5 * (lag / sd_bins) ** 2)
    w /= w.sum()
    out = np.zeros_like(x, dtype=float)
    for k, wk in zip(lag, w, strict=True):
        out += wk * np.roll(x, -k, axis=-1)
    return out


def _circulant(x: np.ndarray) -> np.ndarray:
    """``M[h, z] = x[(h - z) mod n]``: a template placed at every candidate hour."""
    n = x.size
    return x[(np.arange(n)[:, None] - np.arange(n)[None, :]) % n]


def _xcorr(r: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum_s sum_z r[s, z] * x[s, (z + d) mod n]`` for every offset ``d``."""
    fr = np.fft.rfft(r, axis=1)
    fx = np.fft.rfft(x, axis=1)
    return np.fft.irfft((np.conj(fr) * fx).sum(0), n=r.shape[1])


def _decide(prob: np.ndarray, n_bins: int) -> np.ndarray:
    """Hour with the least expected circular distance under each distribution over the bins."""
    centres = (np.arange(n_bins) + 0.5) * 24 / n_bins
    loss = circular_distance(centres[:, None], _DECISION_GRID[None, :])
    return _DECISION_GRID[np.argmin(np.atleast_2d(prob) @ loss, axis=1)]


def _spread(prob: np.ndarray, n_bins: int) -> np.ndarray:
    """Circular variance (1 - mean resultant length) of each distribution over the bins."""
    ang = 2 * np.pi * (np.arange(n_bins) + 0.5) / n_bins
    return 1 - np.hypot(prob @ np.sin(ang), prob @ np.cos(ang))


# --------------------------------------------------------------------------------- exposure


def _band(edges: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, elapsed, side="right") - 1, 0, len(edges) - 2)


def _window_table(cap: float, edges: np.ndarray, n_bins: int) -> np.ndarray:
    """``W[slot, h, j]``: hours an email delivered at ``slot * STEP`` spends, within ``cap``
    hours, in slot ``h`` of the day while in band ``j`` of hours since delivery."""
    width = 24 / n_bins
    out = np.zeros((_SLOTS, n_bins, len(edges) - 1))
    slots = np.arange(_SLOTS)
    for k in range(int(round(cap / _STEP))):
        h = ((((slots + k) % _SLOTS) * _STEP) / width + 1e-9).astype(int) % n_bins
        out[slots, h, _band(edges, np.array([k * _STEP]))[0]] += _STEP
    return out


def _indicator(codes: np.ndarray, n_groups: int) -> Any:
    """Sparse (groups x rows) matrix of group membership."""
    from scipy import sparse

    return sparse.csr_matrix(
        (np.ones(codes.size), (codes, np.arange(codes.size))), shape=(n_groups, codes.size)
    )


def _group_sum(codes: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of the rows of ``x`` per group."""
    return np.asarray(_indicator(codes, n_groups) @ x)


# -------------------------------------------------------------------------------- shrinkage


def _engagement_prior(n_opens: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Gamma(shape, rate) prior of the engagement ``rho`` by the method of moments."""
    ok = expected > 0
    if not ok.any() or n_opens[ok].sum() <= 0:
        return 1.0, 1.0
    rbar = n_opens[ok].sum() / expected[ok].sum()
    e = rbar * expected[ok]
    excess = np.mean((n_opens[ok] - e) ** 2 - e)
    shape = float(np.clip(np.mean(e**2) / max(excess, 1e-9), 0.2, 100.0))
    return shape, shape / rbar


#: Concentrations tried by :func:`_choose_concentration` (pseudo-subscribers).
CONCENTRATIONS: tuple[float, ...] = (0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 1e4, 1e5)


def _segment_mixing(
    like: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    base: np.ndarray,
    alpha: float,
    n_iter: int = 25,
) -> np.ndarray:
    """Each group's distribution over the slots, by EM with the templates held fixed:
    ``w_g = (expected counts + alpha * base) / (members + alpha)``."""
    size = np.bincount(codes, minlength=n_groups)[:, None].astype(float)
    members = _indicator(codes, n_groups)
    w = np.tile(base, (n_groups, 1))
    for _ in range(n_iter):
        r = like * w[codes]
        r /= np.maximum(r.sum(1, keepdims=True), 1e-300)
        w = (np.asarray(members @ r) + alpha * base[None, :]) / (size + alpha)
    return w


def _choose_concentration(
    like: np.ndarray, codes: np.ndarray, n_groups: int, base: np.ndarray
) -> float:
    """The concentration with the best cross-fitted marginal likelihood (empirical Bayes).

    The members of every segment are split in two halves (alternately, in subscriber order);
    for each candidate of :data:`CONCENTRATIONS` the segments' distributions are estimated on
    one half and the other half's evidence is scored under them -- ``sum log sum_z L_s(z)
    w_g(z)`` -- and the other way round. Scoring members that did not shape the distribution
    keeps a segment from being credited for predicting itself, which in-sample marginal
    likelihood does (it then prefers no pooling even for segments drawn at random).
    """
    order = np.argsort(codes, kind="stable")
    half = np.zeros(codes.size, dtype=bool)
    rank = np.arange(codes.size) - np.searchsorted(codes[order], codes[order])
    half[order] = rank % 2 == 1
    best, best_score = CONCENTRATIONS[0], -np.inf
    for alpha in CONCENTRATIONS:
        score = 0.0
        for fit_on in (half, ~half):
            w = _segment_mixing(like[fit_on], codes[fit_on], n_groups, base, alpha)
            held = ~fit_on
            p = np.sum(like[held] * w[codes[held]], axis=1)
            score += float(np.sum(np.log(np.maximum(p, 1e-300))))
        if score > best_score:
            best, best_score = alpha, score
    return float(best)


# ------------------------------------------------------------------------------------ inputs


def _check_table(opens: Any) -> pd.DataFrame:
    where = "open_hours table"
    if not isinstance(opens, pd.DataFrame):
        raise EstimatorInputError(
            f"SendTimeModel.fit takes the open_hours table (a DataFrame), not "
            f"{type(opens).__name__}"
        )
    missing = [c for c in _REQUIRED if c not in opens.columns]
    if missing:
        raise DataError(where, missing[0], "missing column (see workbench.timing.open_hours)")
    ids = pd.to_numeric(opens["subscriber_id"], errors="coerce")
    if ids.isna().any():
        bad = np.flatnonzero(ids.isna().to_numpy())
        raise DataError(where, "subscriber_id", "missing or non-numeric ids", bad.size, bad)
    opened = opens["opened"]
    if not pd.api.types.is_bool_dtype(opened):
        bad = ~opened.isin([0, 1]).to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(where, "opened", "neither true nor false", rows.size, rows)
    is_open = opened.to_numpy(dtype=bool)
    for col in ("delivered_hour", "open_hour"):
        v = pd.to_numeric(opens[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (v < 0) | (v >= 24)
        bad |= np.isnan(v) & (is_open if col == "open_hour" else True)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(where, col, "hours missing or outside [0, 24)", rows.size, rows)
    tau = pd.to_numeric(opens["hours_to_open"], errors="coerce").to_numpy(float, na_value=np.nan)
    bad = is_open & ~(tau >= 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            where, "hours_to_open", "an open without a time to open >= 0", rows.size, rows
        )
    return opens


def _segment_labels(segments: Any) -> pd.Series | None:
    if segments is None:
        return None
    if isinstance(segments, pd.DataFrame):
        if not {"subscriber_id", "segment"} <= set(segments.columns):
            raise DataError("segments table", None, "needs the columns subscriber_id and segment")
        segments = segments.set_index("subscriber_id")["segment"]
    if not isinstance(segments, pd.Series):
        raise EstimatorInputError(
            "segments: a Series of segments indexed by subscriber_id, or a table with the columns "
            "subscriber_id and segment"
        )
    if segments.index.has_duplicates:
        dup = segments.index[segments.index.duplicated()].unique()
        raise DataError("segments table", "subscriber_id", "duplicate subscribers", dup.size, dup)
    return segments


# ------------------------------------------------------------------------------------- model


class SendTimeModel(BaseEstimator):
    """Best local send hour per subscriber from their engagement, pooled with their segment's.

    See the module docstring for the model. scikit-learn conventions: ``__init__`` stores the
    parameters, :meth:`fit` returns ``self``, learned attributes end in ``_``, :meth:`predict`
    before :meth:`fit` raises ``NotFittedError``. It takes the
    :func:`~workbench.timing.data.open_hours` table rather than a feature matrix.

    Parameters
    ----------
    method : {"shrunk", "subscriber", "subscriber_naive", "segment", "global"}, default "shrunk"
        Which hour :attr:`hours_` holds (:data:`METHODS`); :attr:`all_hours_` holds all five.
    n_bins : int, default 48
        Slots of the day the preferred hour is placed in (48: half-hours). A divisor of 96.
    target : {"preferred", "attention"}, default "preferred"
        ``"preferred"``: recommend the preferred hour itself (the least expected distance to
        it); ``"attention"``: the delivery hour whose email gets the most expected attention
        before it sinks in the inbox (``k * T`` summed after delivery, averaged over the
        posterior) -- a little before the preferred hour when emails sink fast.
    evidence : {"timing", "both"}, default "timing"
        ``"both"`` adds which deliveries were opened (:data:`EVIDENCE`). It helps when the open
        probability depends strongly on the delivery hour; on the default world (where it
        depends on it weakly and engagement drifts over time) it made the hours worse
        (mean error 2.15 h against 1.52 h, default scenario, 20,000 subscribers, seeds 101-102;
        0.77 h against 0.65 h on worlds of generator 1.6), hence the default.
    cap_hours : float, default 48.0
        An email is read as "in the inbox" for this long after delivery; later opens and
        emails delivered less than this before the data ends are left out.
    decay : {"estimate", "none"}, default "estimate"
        ``"estimate"``: learn how fast emails sink in the inbox (:attr:`decay_`); ``"none"``:
        every hour in the inbox weighs the same.
    smoothing : float, default 0.5
        Standard deviation (hours) of the circular Gaussian that smooths the learnt templates.
    concentration : float or None, default None
        Pseudo-subscribers pulling each segment's distribution over the day towards the whole
        list's; ``None`` chooses it by cross-fitted marginal likelihood (module docstring).
    max_iter : int, default 50
        EM iterations at most.
    tol : float, default 1e-4
        Stop when the mean log likelihood per subscriber changes by less than this.

    Attributes
    ----------
    hours_ : Series
        Recommended local send hour (float in [0, 24)) per ``subscriber_id`` of the method:
        every subscriber of the table and of ``segments``.
    all_hours_ : DataFrame
        Every method's recommended hour per subscriber (columns :data:`METHODS`).
    segment_hours_ : Series
        Recommended hour per segment (one entry, ``"all"``, without segments).
    global_hour_ : float
        The one hour for everyone.
    segments_ : Series
        Segment per subscriber (as fitted).
    n_opens_ : Series
        Human opens per subscriber within ``cap_hours`` of delivery (the evidence).
    n_emails_ : Series
        Delivered emails per subscriber used.
    weights_ : Series
        How much of the segment's uncertainty about the subscriber's hour their own evidence
        removed, in [0, 1]: ``1 - posterior circular variance / prior circular variance`` (0
        without history, near 1 when their opens pin the hour down).
    posterior_ : ndarray of shape (n_subscribers, n_bins)
        Each subscriber's posterior over the slots of the day (rows in :attr:`hours_` order).
    opens_by_hour_ : ndarray of shape (n_subscribers, n_bins)
        Human opens by local slot of the open.
    emails_by_hour_ : ndarray of shape (n_subscribers, n_bins)
        Delivered emails by local slot of delivery.
    segment_prior_ : DataFrame
        Each segment's distribution of preferred hours (rows) over the slots (columns: slot
        start, hours).
    global_prior_ : Series
        The whole list's distribution of preferred hours.
    concentration_ : float
        Pseudo-subscribers of the segments' prior (chosen unless given; NaN for one segment).
    attention_ : Series
        Relative open intensity by hours from the preferred hour (``T``, peak 1).
    delivery_fit_ : Series
        Relative open probability by hours from delivery to the preferred hour (``F``, peak 1;
        flat when ``evidence="timing"``).
    decay_ : Series
        Relative open intensity by hours since delivery (``k``, first band 1).
    engagement_prior_ : tuple of float
        Shape and rate of the Gamma prior of the engagement ``rho``.
    log_likelihood_ : float
        Mean marginal log likelihood per subscriber at the end (up to a constant).
    n_iter_ : int
        EM iterations run.
    median_hours_to_open_ : float
        Median hours from delivery to a human open (NaN without opens): how much opens follow
        delivery.
    """

    def __init__(
        self,
        method: str = "shrunk",
        *,
        n_bins: int = 48,
        target: str = "preferred",
        evidence: str = "timing",
        cap_hours: float = 48.0,
        decay: str = "estimate",
        smoothing: float = 0.5,
        concentration: float | None = None,
        max_iter: int = 50,
        tol: float = 1e-4,
    ) -> None:
        self.method = method
        self.n_bins = n_bins
        self.target = target
        self.evidence = evidence
        self.cap_hours = cap_hours
        self.decay = decay
        self.smoothing = smoothing
        self.concentration = concentration
        self.max_iter = max_iter
        self.tol = tol

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        if self.evidence not in EVIDENCE:
            raise ValueError(
                f"evidence must be one of {', '.join(EVIDENCE)}, not {self.evidence!r}"
            )
        if self.decay not in ("estimate", "none"):
            raise ValueError(f"decay must be 'estimate' or 'none', not {self.decay!r}")
        if not isinstance(self.n_bins, int | np.integer) or self.n_bins < 4 or 96 % self.n_bins:
            raise ValueError(
                f"n_bins must be a divisor of 96 of at least 4 (24, 48, 96...), not {self.n_bins!r}"
            )
        if not (1 <= float(self.cap_hours) <= DECAY_EDGES[-1]):
            raise ValueError(
                f"cap_hours must be in [1, {DECAY_EDGES[-1]:g}], not {self.cap_hours!r}"
            )
        if not float(self.smoothing) >= 0:
            raise ValueError(f"smoothing must be >= 0, not {self.smoothing!r}")
        if self.concentration is not None and not float(self.concentration) > 0:
            raise ValueError(f"concentration must be > 0 or None, not {self.concentration!r}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, not {self.max_iter!r}")

    # -------------------------------------------------------------------------------- fit

    def fit(self, opens: pd.DataFrame, segments: pd.Series | pd.DataFrame | None = None) -> Any:
        """Learn every subscriber's distribution over the day and recommended hour.

        Parameters
        ----------
        opens : DataFrame
            :func:`~workbench.timing.data.open_hours` (one row per delivered email; columns
            ``subscriber_id, delivered_hour, opened, open_hour, hours_to_open`` and optionally
            ``hours_observed``).
        segments : Series or DataFrame, optional
            Segment per subscriber (a Series indexed by ``subscriber_id``, or a table with the
            columns ``subscriber_id, segment``, e.g. ``workbench segment``'s output). Its
            subscribers without emails get their segment's hour; subscribers of ``opens``
            without a segment form the segment :data:`UNSEGMENTED`. Without it, the whole list
            is one segment (``"all"``) and the segment hour is the global one.

        Returns
        -------
        SendTimeModel
            ``self``, fitted.

        Raises
        ------
        DataError
            A missing column, hours outside [0, 24), an open without a time to open, duplicate
            subscribers in ``segments``, no subscribers at all.
        ValueError
            An unknown method or a bad parameter.
        """
        self._check_params()
        opens = _check_table(opens)
        seg_in = _segment_labels(segments)
        ev = _Evidence.build(opens, seg_in, int(self.n_bins), float(self.cap_hours))
        fit = _EM(self, ev).run()
        self._store(ev, fit)
        return self

    def _store(self, ev: _Evidence, fit: dict[str, Any]) -> None:
        B, ids = ev.n_bins, ev.ids
        r, w, w0 = fit["posterior"], fit["segment_prior"], fit["global_prior"]
        if self.target == "attention":
            z = fit["Z"]  # (delivery slots, candidate preferred slots)

            def decide(prob: np.ndarray, n_bins: int) -> np.ndarray:
                return np.argmax(np.atleast_2d(prob) @ z.T, axis=1) * _STEP

        else:
            decide = _decide
        global_hour = float(decide(w0, B)[0])
        seg_hours = decide(w, B)
        n_open = ev.n.sum(1)
        own = decide(fit["own_posterior"], B)
        naive = _circular_mean(ev.open_hours, ev.open_rows, len(ids))
        glob_naive = _circular_mean(ev.open_hours, np.zeros(ev.open_hours.size, int), 1)[0]
        if np.isnan(glob_naive):
            glob_naive = global_hour
        hours = {
            "global": np.full(len(ids), global_hour),
            "segment": seg_hours[ev.seg_codes],
            "subscriber": np.where(n_open > 0, own, global_hour),
            "subscriber_naive": np.where(np.isnan(naive), glob_naive, naive),
            "shrunk": decide(r, B),
        }
        self.all_hours_ = pd.DataFrame(hours, index=ids)[list(METHODS)]
        self.hours_ = self.all_hours_[self.method].rename("send_hour")
        seg_index = pd.Index(ev.seg_names, name="segment")
        self.segment_hours_ = pd.Series(seg_hours, index=seg_index, name="send_hour")
        self.global_hour_ = global_hour
        self.segments_ = pd.Series(
            np.asarray(ev.seg_names, dtype=object)[ev.seg_codes], index=ids, name="segment"
        )
        self.n_opens_ = pd.Series(n_open.astype("int64"), index=ids, name="n_opens")
        self.n_emails_ = pd.Series(ev.m.sum(1).astype("int64"), index=ids, name="n_emails")
        prior_var = _spread(w[ev.seg_codes], B)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(prior_var > 0, 1 - _spread(r, B) / prior_var, 0.0)
        self.weights_ = pd.Series(np.clip(weight, 0, 1), index=ids, name="weight")
        self.posterior_ = r
        self.opens_by_hour_ = ev.n
        self.emails_by_hour_ = ev.m
        slots = pd.Index(np.arange(B) * 24 / B, name="hour")
        self.segment_prior_ = pd.DataFrame(w, index=seg_index, columns=slots)
        self.global_prior_ = pd.Series(w0, index=slots, name="share")
        self.concentration_ = fit["concentration"]
        offsets = pd.Index(np.arange(B) * 24 / B, name="hours_from_preferred")
        self.attention_ = pd.Series(fit["T"], index=offsets, name="relative_intensity")
        self.delivery_fit_ = pd.Series(fit["F"], index=offsets, name="relative_open_rate")
        self.decay_ = pd.Series(
            fit["k"],
            index=pd.Index(ev.edges[:-1], name="hours_since_delivery"),
            name="relative_intensity",
        )
        self.engagement_prior_ = fit["engagement_prior"]
        self.log_likelihood_ = fit["log_likelihood"]
        self.n_iter_ = fit["n_iter"]
        self.median_hours_to_open_ = ev.median_to_open

    # ---------------------------------------------------------------------------- predict

    def predict(self, subscriber_ids: Iterable[int]) -> pd.Series:
        """Recommended local send hour of each subscriber.

        Parameters
        ----------
        subscriber_ids : iterable of int
            Subscribers; one the model never saw gets the global hour.

        Returns
        -------
        Series
            Hours (float in [0, 24)) indexed by the given ``subscriber_id``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "hours_")
        ids = pd.Index(np.asarray(list(subscriber_ids), dtype="int64"), name="subscriber_id")
        return self.hours_.reindex(ids).fillna(self.global_hour_).rename("send_hour")


class _Evidence:
    """The fitting table summarised per subscriber and slot of the day."""

    ids: pd.Index
    seg_codes: np.ndarray
    seg_names: list[Any]
    n_bins: int
    n: np.ndarray  # opens by slot of the open
    m: np.ndarray  # deliveries by slot of delivery
    o: np.ndarray  # opened deliveries by slot of delivery
    q: Any  # sparse: opened deliveries by delivery slot of STEP hours
    window: np.ndarray  # (SLOTS, n_bins, bands)
    edges: np.ndarray
    band_opens: np.ndarray
    open_hours: np.ndarray
    open_rows: np.ndarray
    median_to_open: float

    @classmethod
    def build(
        cls, opens: pd.DataFrame, seg_in: pd.Series | None, n_bins: int, cap: float
    ) -> _Evidence:
        from scipy import sparse

        ev = cls()
        ids_t = opens["subscriber_id"].to_numpy(dtype="int64")
        ids = pd.Index(np.unique(ids_t), dtype="int64")
        if seg_in is not None:
            ids = ids.union(pd.Index(np.asarray(seg_in.index, dtype="int64")))
        ev.ids = ids.rename("subscriber_id")
        if len(ids) == 0:
            raise DataError("open_hours table", None, "no delivered emails and no subscribers")
        if seg_in is None:
            labels = pd.Series("all", index=ev.ids, dtype=object)
        else:
            seg_in = seg_in.set_axis(np.asarray(seg_in.index, dtype="int64"))
            labels = seg_in.reindex(ev.ids).astype(object)
            labels = labels.where(labels.notna(), UNSEGMENTED)
        codes, names = pd.factorize(labels.astype(str) if _mixed(labels) else labels, sort=True)
        ev.seg_codes, ev.seg_names = codes, list(names)
        ev.n_bins = n_bins
        width = 24 / n_bins

        d = pd.to_numeric(opens["delivered_hour"]).to_numpy(dtype=float)
        opened = opens["opened"].to_numpy(dtype=bool)
        tau = pd.to_numeric(opens["hours_to_open"]).to_numpy(dtype=float, na_value=np.nan)
        oh = pd.to_numeric(opens["open_hour"]).to_numpy(dtype=float, na_value=np.nan)
        if "hours_observed" in opens.columns:
            seen = pd.to_numeric(opens["hours_observed"]).to_numpy(float, na_value=np.inf) >= cap
        else:
            seen = np.ones(d.size, bool)
        row = ev.ids.get_indexer(ids_t)
        row, d, opened, tau, oh = row[seen], d[seen], opened[seen], tau[seen], oh[seen]
        counted = opened & (tau < cap)
        ev.edges = np.asarray([e for e in DECAY_EDGES if e < cap] + [cap], dtype=float)
        ev.window = _window_table(cap, ev.edges, n_bins)
        n_sub = len(ev.ids)
        db = np.floor(d / width).astype(int) % n_bins
        ob = np.floor(oh[counted] / width).astype(int) % n_bins
        ev.n = np.zeros((n_sub, n_bins))
        np.add.at(ev.n, (row[counted], ob), 1.0)
        ev.m = np.zeros((n_sub, n_bins))
        np.add.at(ev.m, (row, db), 1.0)
        ev.o = np.zeros((n_sub, n_bins))
        np.add.at(ev.o, (row[counted], db[counted]), 1.0)
        slot = np.rint(d[counted] / _STEP).astype(int) % _SLOTS
        ev.q = sparse.csr_matrix((np.ones(slot.size), (row[counted], slot)), shape=(n_sub, _SLOTS))
        ev.band_opens = np.bincount(
            _band(ev.edges, tau[counted]), minlength=len(ev.edges) - 1
        ).astype(float)
        ev.open_hours, ev.open_rows = oh[counted], row[counted]
        ev.median_to_open = float(np.median(tau[counted])) if counted.any() else float("nan")
        return ev


def _mixed(labels: pd.Series) -> bool:
    """True when segment labels mix types (numbers and the text label of the unsegmented)."""
    return len({type(v) for v in labels.to_numpy()}) > 1


class _EM:
    """The EM fit of :class:`SendTimeModel` (see the module docstring)."""

    def __init__(self, model: SendTimeModel, ev: _Evidence) -> None:
        self.ev = ev
        self.B = ev.n_bins
        self.both = model.evidence == "both"
        self.decay = model.decay == "estimate"
        self.sd = float(model.smoothing) * self.B / 24
        self.fixed_alpha = None if model.concentration is None else float(model.concentration)
        self.max_iter, self.tol = int(model.max_iter), float(model.tol)

    def loglik(
        self, T: np.ndarray, F: np.ndarray, k: np.ndarray, w_sub: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Log likelihood of every subscriber's evidence at every candidate slot."""
        ev = self.ev
        tc = _circulant(T)
        gk = ev.window @ k  # (slots, bins)
        z = gk @ tc  # (slots, candidate): normaliser of the open-time density
        ll = ev.n @ np.log(tc) - np.asarray(ev.q @ np.log(z))
        aux: dict[str, Any] = {"gk": gk, "Z": z}
        if self.both:
            fc = _circulant(F)
            dm = ev.m @ fc  # expected opens / rho at each candidate
            shape, rate = _engagement_prior(ev.n.sum(1), (dm * w_sub).sum(1))
            ll += ev.o @ np.log(fc) - (shape + ev.n.sum(1))[:, None] * np.log(rate + dm)
            aux.update(dm=dm, shape=shape, rate=rate)
        else:
            aux.update(shape=1.0, rate=1.0)
        return ll, aux

    def run(self) -> dict[str, Any]:
        ev, B = self.ev, self.B
        G = len(ev.seg_names)
        offsets = np.arange(B) * 24 / B
        T = np.exp(2 * np.cos(2 * np.pi * offsets / 24))
        F = np.ones(B)
        k = np.ones(len(ev.edges) - 1)
        w = np.full((G, B), 1.0 / B)
        w0 = np.full(B, 1.0 / B)
        alpha = self.fixed_alpha if self.fixed_alpha is not None else float(B)
        n_tot = ev.n.sum(1)
        size = np.bincount(ev.seg_codes, minlength=G)[:, None]
        last = -np.inf
        it = 0
        for it in range(1, self.max_iter + 1):
            ll, aux = self.loglik(T, F, k, w[ev.seg_codes])
            lp = ll + np.log(np.maximum(w[ev.seg_codes], 1e-300))
            top = lp.max(1, keepdims=True)
            r = np.exp(lp - top)
            norm = r.sum(1, keepdims=True)
            r /= norm
            total = float(np.mean(top[:, 0] + np.log(norm[:, 0])))
            # M step: the distributions over the day
            counts = _group_sum(ev.seg_codes, r, G)
            w0 = r.mean(0)
            if G > 1 and self.fixed_alpha is None and it % 10 == 3:
                like = np.exp(ll - ll.max(1, keepdims=True))
                alpha = _choose_concentration(like, ev.seg_codes, G, w0)
            w = (counts + alpha * w0[None, :]) / (size + alpha)
            # M step: the templates (fixed-point updates of the conditional likelihoods)
            q_by_slot = np.asarray(ev.q.T @ r).T  # (candidate, slots)
            num = _xcorr(r, ev.n)
            s = np.einsum("zs,szh->zh", q_by_slot, aux["gk"][:, None, :] / aux["Z"][:, :, None])
            idx = (np.arange(B)[:, None] + np.arange(B)[None, :]) % B
            den = s[np.arange(B)[:, None], idx].sum(0)
            if num.sum() > 0:
                T = np.maximum(_smooth(np.maximum(num, 0) / np.maximum(den, 1e-12), self.sd), 1e-6)
            if self.decay and n_tot.sum() > 0:
                tc = _circulant(T)
                z = (ev.window @ k) @ tc
                h = np.einsum("shj,hz->szj", ev.window, tc) / z[:, :, None]
                denk = np.einsum("zs,szj->j", q_by_slot, h)
                k = np.where(denk > 0, ev.band_opens / np.maximum(denk, 1e-300), 0.0)
                k = np.maximum(k / max(k[0], 1e-300), 1e-9)
            if self.both and n_tot.sum() > 0:
                rho = (aux["shape"] + n_tot)[:, None] / (aux["rate"] + aux["dm"])
                f = np.maximum(_xcorr(r, ev.o), 0) / np.maximum(_xcorr(r * rho, ev.m), 1e-12)
                F = np.maximum(_smooth(f, self.sd), 1e-6)
            # the preferred hour is the peak of attention: re-centre the templates on it
            p = int(np.argmax(_smooth(T, max(self.sd, 1.0))))
            if p:
                T, F = np.roll(T, -p), np.roll(F, -p)
                w, w0, r = np.roll(w, p, axis=1), np.roll(w0, p), np.roll(r, p, axis=1)
            T, F = T / T.max(), F / F.max()
            if abs(total - last) < self.tol:
                break
            last = total
        ll, aux = self.loglik(T, F, k, w[ev.seg_codes])
        own = np.exp(ll - ll.max(1, keepdims=True))
        own /= own.sum(1, keepdims=True)
        if G > 1:  # the segments' distributions under the final templates
            if self.fixed_alpha is None:
                alpha = _choose_concentration(own, ev.seg_codes, G, w0)
            w = _segment_mixing(own, ev.seg_codes, G, w0, alpha, n_iter=50)
        else:
            w = _segment_mixing(own, ev.seg_codes, 1, w0, 1.0, n_iter=50)
            w0 = w[0]
        r = own * w[ev.seg_codes]
        r /= np.maximum(r.sum(1, keepdims=True), 1e-300)
        return {
            "posterior": r,
            "own_posterior": own,
            "Z": aux["Z"],
            "segment_prior": w,
            "global_prior": w0,
            "concentration": float(alpha) if G > 1 else float("nan"),
            "T": T,
            "F": F,
            "k": k,
            "engagement_prior": (float(aux["shape"]), float(aux["rate"])),
            "log_likelihood": total,
            "n_iter": it,
        }


def recommend_all(
    opens: pd.DataFrame,
    segments: pd.Series | pd.DataFrame | None = None,
    methods: Iterable[str] = tuple(METHODS),
    *,
    subscribers: Iterable[int] | None = None,
    **params: Any,
) -> dict[str, pd.Series]:
    """Every method's recommended hours from one fit (for a scorecard or a comparison).

    Parameters
    ----------
    opens : DataFrame
        :func:`~workbench.timing.data.open_hours`.
    segments : Series or DataFrame, optional
        As for :meth:`SendTimeModel.fit`.
    methods : iterable of str
        Among :data:`METHODS`.
    subscribers : iterable of int, optional
        Give hours for exactly these subscribers (one the fit never saw gets the global hour);
        default every subscriber of the fit.
    **params
        Other parameters of :class:`SendTimeModel`.

    Returns
    -------
    dict of str to Series
        Method -> recommended hour per ``subscriber_id``.

    Raises
    ------
    ValueError
        An unknown method.
    """
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; known: {', '.join(METHODS)}")
    model = SendTimeModel(**params).fit(opens, segments)
    hours = model.all_hours_
    if subscribers is not None:
        ids = pd.Index(np.asarray(list(subscribers), dtype="int64"), name="subscriber_id")
        hours = hours.reindex(ids).fillna(model.global_hour_)
    return {m: hours[m].rename("send_hour") for m in methods}
