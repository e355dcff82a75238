"""A randomised email test with a known effect per subscriber, for tests, benchmarks and exercises.

Each subscriber has a few observed traits (engagement, recency, spend, how heavily they were
mailed lately, tenure, device). The baseline chance of converting without the email rises with
engagement and spend; the email's effect (on the log-odds scale) depends on the traits so that
the four textbook groups are all present:

* **persuadables**: moderately engaged subscribers (around the middle of the engagement scale),
  more so on mobile, whom the email moves most;
* **sure things**: highly engaged big spenders, who convert anyway (high baseline, the email
  adds little: the effect on the probability scale shrinks near the top);
* **lost causes**: dormant subscribers (few opens, long since the last one), who do not convert
  either way (low baseline, no effect);
* **do not disturb**: subscribers mailed heavily in the last 30 days, for whom one more email
  *lowers* the chance of converting (annoyance, unsubscribes).

Treatment is assigned independently to each subscriber with probability ``treated_share``, as in
a randomised test. The true uplift returned is the difference of the two potential-outcome means
given the traits, ``E[y | T=1, x] - E[y | T=0, x]``, not a difference of drawn outcomes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DEVICES", "simulate_uplift"]

#: Levels of the categorical column ``device``.
DEVICES = ("mobile", "desktop", "tablet")

#: Scale of the continuous outcome: y = SCALE * P(convert) + noise (e.g. revenue per recipient).
_REVENUE_SCALE = 10.0
_REVENUE_NOISE = 2.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logits(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Baseline log-odds and the email's shift of the log-odds, from the observed traits."""
    z_open = (np.log1p(x["opens_90d"].to_numpy()) - 1.4) / 0.8
    z_spend = (np.log(x["spend_12m"].to_numpy()) - 4.0) / 1.0
    recency = x["recency_days"].to_numpy()
    emails = x["emails_30d"].to_numpy()
    tenure = x["tenure_years"].to_numpy()
    device = x["device"].astype(str).to_numpy()

    base = (
        -2.3
        + 0.9 * z_open
        + 0.5 * z_spend
        - 0.4 * np.log1p(recency / 30.0)
        + 0.25 * (device == "desktop")
        + 0.05 * tenure
    )
    # persuadables: a bump around the middle of the engagement scale, stronger on mobile
    persuade = 0.9 * np.exp(-0.5 * ((z_open - 0.0) / 0.8) ** 2) * (1.0 + 0.4 * (device == "mobile"))
    # dormant subscribers do not react (lost causes)
    persuade *= _sigmoid((60.0 - recency) / 15.0)
    # heavily mailed subscribers react badly (do not disturb)
    annoy = -1.1 * _sigmoid((emails - 18.0) / 1.5)
    return base, persuade + annoy


def simulate_uplift(
    n: int,
    *,
    seed: int = 0,
    kind: str = "binary",
    treated_share: float = 0.5,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Draw a randomised email test whose effect per subscriber is known.

    Parameters
    ----------
    n : int
        Number of subscribers (>= 2).
    seed : int, default 0
        Seed of ``np.random.default_rng``.
    kind : {"binary", "continuous"}, default "binary"
        ``"binary"``: y is a conversion (0/1). ``"continuous"``: y is a revenue-like amount,
        ``10 * P(convert) + Normal(0, 2)`` noise, so the true uplift is 10 times the binary one.
    treated_share : float, default 0.5
        Probability that a subscriber is sent the email (strictly between 0 and 1).

    Returns
    -------
    X : DataFrame
        ``opens_90d`` (opens in the last 90 days), ``recency_days`` (days since the last open),
        ``spend_12m`` (spend in the last 12 months), ``emails_30d`` (emails received in the last
        30 days), ``tenure_years`` and ``device`` (pandas ``category``: mobile, desktop, tablet).
    y : ndarray of float, shape (n,)
        The observed outcome.
    treatment : ndarray of int, shape (n,)
        1 when the subscriber was sent the email, 0 in the control group.
    true_uplift : ndarray of float, shape (n,)
        ``E[y | T=1, x] - E[y | T=0, x]`` for each subscriber.

    Raises
    ------
    ValueError
        When ``n < 2``, ``kind`` is unknown or ``treated_share`` is not in (0, 1).
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if kind not in ("binary", "continuous"):
        raise ValueError(f"kind must be 'binary' or 'continuous', got {kind!r}")
    if not 0.0 < treated_share < 1.0:
        raise ValueError(f"treated_share must be strictly between 0 and 1, got {treated_share!r}")
    n = int(n)
    rng = np.random.default_rng(seed)

    engagement = rng.normal(0.0, 1.0, n)
    opens = rng.poisson(np.exp(1.2 + 0.9 * engagement))
    recency = np.round(rng.exponential(np.exp(3.3 - 0.9 * engagement)), 0)
    spend = np.round(np.exp(rng.normal(4.0 + 0.3 * engagement, 0.9)), 2)
    heavy = rng.random(n) < 0.2  # a fifth of the list was mailed heavily last month
    emails = np.where(heavy, rng.integers(18, 31, n), rng.integers(2, 15, n))
    tenure = np.round(rng.uniform(0.0, 8.0, n), 1)
    device = rng.choice(len(DEVICES), size=n, p=[0.55, 0.35, 0.10])
    X = pd.DataFrame(
        {
            "opens_90d": opens.astype(float),
            "recency_days": recency,
            "spend_12m": spend,
            "emails_30d": emails.astype(float),
            "tenure_years": tenure,
            "device": pd.Categorical.from_codes(device, categories=list(DEVICES)),
        }
    )

    base, shift = _logits(X)
    p0, p1 = _sigmoid(base), _sigmoid(base + shift)
    treatment = (rng.random(n) < treated_share).astype(int)
    p = np.where(treatment == 1, p1, p0)
    if kind == "binary":
        y = (rng.random(n) < p).astype(float)
        true_uplift = p1 - p0
    else:
        y = _REVENUE_SCALE * p + rng.normal(0.0, _REVENUE_NOISE, n)
        true_uplift = _REVENUE_SCALE * (p1 - p0)
    return X, y, treatment, true_uplift
