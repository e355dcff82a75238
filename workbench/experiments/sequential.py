"""Sequential monitoring: stopping on expected loss versus peeking at p-values, by simulation.

An analyst who checks a test every day and stops as soon as ``p < 0.05`` ships far more false
winners than 5 % (every look is another chance for noise to cross the line). The Bayesian
alternative stops when the expected loss of choosing the leading arm is below a threshold: it
does not promise a false-positive rate, it bounds what a wrong choice costs (the *regret*).
:func:`simulate_monitoring` runs both rules (and a fixed-horizon test) on the same simulated
two-arm tests and reports how often each ships the variant, ships the control, or never decides,
how many recipients it used and its mean regret.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from workbench.experiments.conjugate import beta_decision_stats


def simulate_monitoring(
    base_rate: float = 0.05,
    lifts: Sequence[float] = (0.0, 0.1, 0.2),
    *,
    n_per_look: int = 500,
    n_looks: int = 20,
    loss_threshold: float = 0.01,
    alpha: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
    n_sim: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Error rates of stopping rules on simulated two-arm tests looked at ``n_looks`` times.

    Parameters
    ----------
    base_rate : float, default 0.05
        Control conversion rate.
    lifts : sequence of float
        True relative lifts of the variant (0 = no difference).
    n_per_look : int, default 500
        Recipients added to each arm between looks.
    n_looks : int, default 20
    loss_threshold : float, default 0.01
        Expected-loss rule: stop when the leader's expected loss, relative to its rate, is below.
    alpha : float, default 0.05
        Level of the two-sided two-proportion z-test.
    prior : tuple of float, default (1, 1)
    n_sim : int, default 500
        Simulated tests per lift.
    seed : int, default 0

    Returns
    -------
    DataFrame
        One row per lift × rule (``expected loss``, ``peeking p-value``, ``fixed horizon``):
        ``ship_variant, ship_control, no_decision`` (shares), ``mean_n`` (recipients per arm at the
        stop), ``regret`` (mean true relative loss of the arm finally chosen; the control when
        undecided).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for lift in lifts:
        rates = np.array([base_rate, base_rate * (1 + lift)])
        new = rng.binomial(n_per_look, rates, size=(n_sim, n_looks, 2))
        conv = new.cumsum(axis=1).astype(float)
        n = n_per_look * np.arange(1, n_looks + 1, dtype=float)[None, :, None]
        n = np.broadcast_to(n, conv.shape)
        el_stop, leader = _expected_loss_rule(conv, n, prior, loss_threshold)
        p_stop, p_choice = _peeking_rule(conv, n, alpha)
        best = int(rates.argmax())
        true_loss = (rates.max() - rates) / rates.max()
        fixed = np.zeros_like(p_stop)
        fixed[:, -1] = p_stop[:, -1]  # one test at the planned sample size
        rules = {
            "expected loss": (el_stop, leader),
            "peeking p-value": (p_stop, p_choice),
            "fixed horizon": (fixed, p_choice),
        }
        for rule, (stop, choice) in rules.items():
            any_stop = stop.any(axis=1)
            first = np.where(any_stop, stop.argmax(axis=1), n_looks - 1)
            chosen = np.where(any_stop, choice[np.arange(n_sim), first], 0)
            rows.append(
                {
                    "lift": lift,
                    "rule": rule,
                    "ship_variant": float((any_stop & (chosen == 1)).mean()),
                    "ship_control": float((any_stop & (chosen == 0)).mean()),
                    "no_decision": float((~any_stop).mean()),
                    "mean_n": float(n_per_look * (first + 1).mean()),
                    "regret": float(true_loss[chosen].mean()),
                    "best_arm": "variant" if best == 1 and lift > 0 else "either",
                }
            )
    return pd.DataFrame(rows)


def _expected_loss_rule(
    conv: np.ndarray, n: np.ndarray, prior: tuple[float, float], loss_threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Stop (and the leader) at every look of every test: relative expected loss below threshold.

    Parameters
    ----------
    conv, n : ndarray, shape (n_sim, n_looks, 2)
        Cumulative conversions and recipients of control and variant.

    Returns
    -------
    stop : ndarray of bool, shape (n_sim, n_looks)
    leader : ndarray of int, shape (n_sim, n_looks)
        The arm with the smallest expected loss (0 control, 1 variant).
    """
    n_sim, n_looks, _ = conv.shape
    a0, b0 = prior
    a = (a0 + conv).reshape(-1, 2)
    b = (b0 + n - conv).reshape(-1, 2)
    st = beta_decision_stats(a, b, np.ones_like(a, bool), np.zeros(len(a), np.int64))
    loss_rel = (st["expected_loss"] / (a / (a + b))).reshape(n_sim, n_looks, 2)
    return loss_rel.min(axis=2) < loss_threshold, loss_rel.argmin(axis=2)


def _peeking_rule(conv: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Stop at every look where a two-sided two-proportion z-test has ``p < alpha``.

    Returns
    -------
    stop : ndarray of bool, shape (n_sim, n_looks)
    choice : ndarray of int, shape (n_sim, n_looks)
        1 where the variant leads.
    """
    p_hat = conv / n
    pooled = conv.sum(axis=2) / n.sum(axis=2)
    se = np.sqrt(pooled * (1 - pooled) * (2 / n[..., 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p_hat[..., 1] - p_hat[..., 0]) / se, 0.0)
    pval = 2 * special.ndtr(-np.abs(z))
    return pval < alpha, (z > 0).astype(int)
