"""Buy-till-you-die mathematics (workbench.clv.formulas, .mle, .simulate).

* The closed forms equal numerical integrals of the individual-level models over the mixing
  distributions (scipy.integrate), and Monte Carlo draws of the individual-level stories.
* Purchase-count probabilities sum to one and have the unconditional expectation as mean.
* Maximum likelihood recovers the parameters of simulated customers within three standard
  errors, and reproduces values published by the models' authors (at their parameters).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from scipy.integrate import IntegrationWarning, quad

from workbench.clv import formulas as F
from workbench.clv.mle import MLEFit, fit_gamma_gamma_mle, fit_mle
from workbench.clv.simulate import simulate, simulate_spend
from workbench.errors import DataError

#: Fader, Hardie & Lee (2005) on CDNOW, weeks.
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
#: Fader & Hardie's Pareto/NBD estimates on CDNOW (alpha < beta).
PNBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
#: BTYDplus' MBG/NBD estimates on CDNOW.
MBG = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
#: Fader & Hardie's Gamma-Gamma estimates on CDNOW.
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
PUBLISHED = {"bgnbd": BG, "paretonbd": PNBD, "mbgnbd": MBG}

#: (x, t_x, T): no repeat purchase, the BG/NBD paper's example, a heavy buyer, an old customer.
CASES = [(0, 0.0, 38.86), (2, 30.43, 38.86), (50, 35.0, 38.0), (5, 0.5, 300.0)]
#: (model, name, parameters, cases) for the checks against integrals: the published sets and a
#: Pareto/NBD with alpha > beta on every case; one with a > 1, one with a = 1 and one with
#: a + b = 1 (removable singularities of the BG expectation) on the first two.
SETS = [
    ("bgnbd", "published", BG, CASES),
    ("bgnbd", "a>1", {"r": 1.3, "alpha": 2.0, "a": 2.5, "b": 6.0}, CASES[:2]),
    ("bgnbd", "a=1", {"r": 0.5, "alpha": 3.0, "a": 1.0, "b": 2.0}, CASES[:2]),
    ("bgnbd", "a+b=1", {"r": 0.5, "alpha": 3.0, "a": 0.3, "b": 0.7}, CASES[:2]),
    ("mbgnbd", "published", MBG, CASES),
    ("mbgnbd", "a>1", {"r": 1.3, "alpha": 2.0, "a": 2.5, "b": 6.0}, CASES[:2]),
    ("paretonbd", "alpha<beta", PNBD, CASES),
    ("paretonbd", "alpha>beta", {"r": 0.9, "alpha": 8.0, "s": 1.4, "beta": 3.0}, CASES),
]
HORIZON = 39.0


# --------------------------------------------------------------------------------- integrals
def _quad(f: Callable[[float], float], lo: float, hi: float, tol: float, **kw) -> float:
    return quad(f, lo, hi, epsabs=tol, epsrel=1e-11 if tol else 1e-5, limit=200, **kw)[0]


def _rough(f: Callable[[], float]) -> float:
    """A first estimate, only to scale the absolute tolerance of the precise one (its
    warnings about relative accuracy in pieces where the integrand is negligible are moot)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        return f()


def _gamma_mean(
    f: Callable[[float], float], shape: float, rate: float, centres: list[float], tol: float
) -> float:
    """E[f(L)], L ~ Gamma(shape, rate), by quadrature in pieces around the ``centres``."""
    logc = shape * math.log(rate) - math.lgamma(shape)

    def dens(v: float) -> float:  # without v^(shape-1) (the algebraic weight of the first piece)
        return math.exp(logc - rate * v)

    def g(v: float) -> float:
        return f(v) * dens(v) * v ** (shape - 1)

    pts = sorted({c * k for c in centres for k in (1 / 64, 1 / 8, 1 / 2, 1, 2, 4, 8, 32)})
    total = _quad(lambda v: f(v) * dens(v), 0, pts[0], tol, weight="alg", wvar=(shape - 1, 0))
    total += sum(_quad(g, lo, hi, tol) for lo, hi in itertools.pairwise(pts))
    return total + _quad(g, pts[-1], math.inf, tol)


def _beta_mean(f: Callable[[float], float], a: float, b: float, tol: float) -> float:
    """E[f(P)], P ~ Beta(a, b), by quadrature with the endpoint singularities as weights."""
    lb = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    pts = [1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5, 0.8]
    total = _quad(
        lambda p: f(p) * (1 - p) ** (b - 1), 0, pts[0], tol, weight="alg", wvar=(a - 1, 0)
    )
    total += sum(
        _quad(lambda p: f(p) * p ** (a - 1) * (1 - p) ** (b - 1), lo, hi, tol)
        for lo, hi in itertools.pairwise(pts)
    )
    total += _quad(lambda p: f(p) * p ** (a - 1), pts[-1], 1, tol, weight="alg", wvar=(0, b - 1))
    return total / math.exp(lb)


def _integrals(model: str, prm: dict[str, float], x: int, t_x: float, T: float, t: float):
    """(likelihood, P(alive), E[purchases in (T, T+t]]) by integrating the individual level.

    Each integral runs twice: roughly (relative 1e-5), then to an absolute tolerance of 1e-12
    times the rough value (so that pieces where the integrand is negligible end quickly).
    """
    r, alpha = prm["r"], prm["alpha"]
    lam_at = [(r + x) / (alpha + t_x), (r + x) / (alpha + T)]

    if model == "paretonbd":
        s, beta = prm["s"], prm["beta"]
        mu_at = [(s + 1) / (beta + t_x), s / (beta + T)]

        def individual(lam: float, mu: float, part: str) -> float:
            base = lam**x * math.exp(-(lam + mu) * T)
            if part == "alive":
                return base
            if part == "future":  # alive, then lam (1 - e^{-mu t}) / mu purchases
                return base * lam * (-math.expm1(-mu * t) / mu if mu > 0 else t)
            k = lam + mu  # died at y in (t_x, T): int_t_x^T mu e^{-k y} dy
            gap = -math.expm1(-k * (T - t_x)) / k if k > 0 else T - t_x
            return base + lam**x * mu * math.exp(-k * t_x) * gap

        def integrate(part: str, tol: float) -> float:
            return _gamma_mean(
                lambda mu: _gamma_mean(
                    lambda lam: individual(lam, mu, part), r, alpha, lam_at, tol
                ),
                s,
                beta,
                mu_at,
                tol,
            )

    else:
        a, b = prm["a"], prm["b"]
        mbg = model == "mbgnbd"

        def individual(lam: float, p: float, part: str) -> float:
            alive = (1 - p) ** (x + mbg) * lam**x * math.exp(-lam * T)
            if part == "alive":
                return alive
            if part == "future":  # alive, then (1 - e^{-lam p t}) / p purchases
                return alive * (-math.expm1(-lam * p * t) / p if p > 0 else lam * t)
            if x == 0 and not mbg:
                return alive
            return alive + p * (1 - p) ** (x - 1 + mbg) * lam**x * math.exp(-lam * t_x)

        def integrate(part: str, tol: float) -> float:
            return _beta_mean(
                lambda p: _gamma_mean(lambda lam: individual(lam, p, part), r, alpha, lam_at, tol),
                a,
                b,
                tol,
            )

    def precise(part: str) -> float:
        return integrate(part, 1e-12 * _rough(lambda: integrate(part, 0.0)))

    like = precise("all")
    return like, precise("alive") / like, precise("future") / like


def _cases():
    for model, name, prm, cases in SETS:
        for case in cases:
            yield pytest.param(model, prm, case, id=f"{model}-{name}-x{case[0]}-T{case[2]:g}")


@pytest.mark.parametrize(("model", "prm", "case"), list(_cases()))
def test_closed_forms_equal_integrals_of_the_individual_model(model, prm, case) -> None:
    x, t_x, T = case
    like, alive, future = _integrals(model, prm, x, t_x, T, HORIZON)
    assert F.loglik(model, prm, x, t_x, T) == pytest.approx(math.log(like), abs=1e-9)
    assert F.p_alive(model, prm, x, t_x, T) == pytest.approx(alive, rel=1e-9)
    assert F.expected_purchases(model, prm, HORIZON, x, t_x, T) == pytest.approx(future, rel=1e-8)


@pytest.mark.parametrize(("x", "mbar"), [(1, 11.77), (7, 73.74), (50, 30.0)])
def test_gamma_gamma_equals_its_integral(x: int, mbar: float) -> None:
    p, q, gamma = GG["p"], GG["q"], GG["gamma"]

    def density(nu: float) -> float:  # mean of x Gamma(p, nu) values: Gamma(p x, rate nu x)
        if nu == 0:
            return 0.0
        return math.exp(
            p * x * math.log(nu * x)
            + (p * x - 1) * math.log(mbar)
            - nu * x * mbar
            - math.lgamma(p * x)
        )

    at = [(q + p * x) / (gamma + x * mbar)]

    def spent(nu: float) -> float:
        return density(nu) * p / nu if nu > 0 else 0.0

    like = _gamma_mean(
        density, q, gamma, at, 1e-12 * _rough(lambda: _gamma_mean(density, q, gamma, at, 0.0))
    )
    spend = (
        _gamma_mean(
            spent, q, gamma, at, 1e-12 * _rough(lambda: _gamma_mean(spent, q, gamma, at, 0.0))
        )
        / like
    )
    assert F.gg_loglik(GG, x, mbar) == pytest.approx(math.log(like), abs=1e-8)
    assert F.gg_expected_spend(GG, x, mbar) == pytest.approx(spend, rel=1e-8)
    assert F.gg_expected_spend(GG, 0, np.nan) == pytest.approx(p * gamma / (q - 1), rel=1e-12)


# --------------------------------------------------------------------------------- probabilities
@pytest.mark.parametrize("model", F.MODELS)
@pytest.mark.parametrize("t", [0.5, 39.0, 78.0])
def test_purchase_probabilities_sum_to_one_with_the_expected_mean(model: str, t: float) -> None:
    prm = PUBLISHED[model]
    n = np.arange(600)
    prob = F.prob_purchases(model, prm, n, t)
    assert np.all(prob >= 0)
    assert prob.sum() == pytest.approx(1.0, abs=1e-10)
    assert (n * prob).sum() == pytest.approx(F.expected_purchases_new(model, prm, t), rel=1e-9)


def test_bgnbd_probabilities_match_r_btyd() -> None:
    """R package BTYD, bgnbd.pmf at the published CDNOW parameters."""
    assert F.prob_purchases("bgnbd", BG, 10, 2.0) == pytest.approx(1.07869e-07, rel=1e-5)
    assert F.prob_purchases("bgnbd", BG, 0, 39.0) == pytest.approx(0.5737864, rel=1e-7)
    btyd = [0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
            0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260]  # fmt: skip
    got = F.prob_purchases("bgnbd", BG, np.arange(11, 21), 30.0)
    np.testing.assert_allclose(got, btyd, rtol=0, atol=5.1e-11)  # printed to 10 decimals


# --------------------------------------------------------------------------------- Monte Carlo
def _within(diff: np.ndarray, k: float = 4.0) -> None:
    """The mean of ``diff`` is 0 within ``k`` Monte Carlo standard errors."""
    se = diff.std(ddof=1) / math.sqrt(len(diff))
    assert abs(diff.mean()) <= k * se, (diff.mean(), se)


@pytest.mark.parametrize("model", F.MODELS)
def test_p_alive_and_expectations_match_simulated_customers(model: str) -> None:
    """E[alive | data] = p_alive(data) and E[holdout purchases | data] = expected_purchases:
    the mean difference over simulated customers is 0 within Monte Carlo error (also within
    the customers without and with repeat purchases)."""
    prm = PUBLISHED[model]
    T = np.random.default_rng(11).uniform(27, 39, 30_000)
    d = simulate(model, prm, T, seed=12, holdout=HORIZON)
    x, tx, TT = d["x"].to_numpy(), d["t_x"].to_numpy(), d["T"].to_numpy()
    alive = F.p_alive(model, prm, x, tx, TT)
    future = F.expected_purchases(model, prm, HORIZON, x, tx, TT)
    for group in (x == 0, x > 0):
        _within(d["alive"].to_numpy()[group] - alive[group])
        _within(d["x_holdout"].to_numpy()[group] - future[group])


@pytest.mark.parametrize("model", F.MODELS)
def test_purchase_probabilities_match_simulated_customers(model: str) -> None:
    prm = PUBLISHED[model]
    N, t = 30_000, 39.0
    d = simulate(model, prm, np.full(N, t), seed=21)
    x = d["x"].to_numpy()
    _within(x - F.expected_purchases_new(model, prm, t))
    for n in range(6):
        p = float(F.prob_purchases(model, prm, n, t))
        assert abs((x == n).sum() - N * p) < 4 * math.sqrt(N * p * (1 - p)), n


def test_simulated_spend_has_the_population_mean() -> None:
    x = np.random.default_rng(3).integers(0, 6, 30_000)
    m = simulate_spend(GG, x, seed=4)
    assert np.isnan(m[x == 0]).all() and np.isfinite(m[x > 0]).all()
    _within(m[x > 0] - F.gg_expected_spend(GG, 0, np.nan))


# --------------------------------------------------------------------------------- published
def _box(f: Callable[[dict[str, float]], np.ndarray], prm: dict[str, float], half: float):
    """Range of ``f`` over the parameters that round to ``prm`` (corners of the box)."""
    vals = [
        f({k: v + s * half for (k, v), s in zip(prm.items(), signs, strict=True)})
        for signs in itertools.product((-1, 1), repeat=len(prm))
    ]
    return np.min(vals, axis=0), np.max(vals, axis=0)


def _consistent(published, lo, hi, half_digit: float) -> None:
    """A published value (rounded to ``half_digit`` * 2) and our range overlap."""
    pub = np.asarray(published, dtype=float)
    assert np.all(pub + half_digit >= lo) and np.all(pub - half_digit <= hi), (pub, lo, hi)


def test_published_expectations_at_published_parameters() -> None:
    # BG/NBD: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 (Fader, Hardie & Lee 2005)
    lo, hi = _box(lambda p: F.expected_purchases("bgnbd", p, 39, 2, 30.43, 38.86), BG, 5e-4)
    _consistent(1.226, lo, hi, 5e-4)
    # BG/NBD: E[X(t)] of Hardie's spreadsheet
    t = np.array([0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0])
    lo, hi = _box(lambda p: F.expected_purchases_new("bgnbd", p, t), BG, 5e-4)
    _consistent([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576], lo, hi, 5e-5)
    # Pareto/NBD: BTYD walkthrough, x=26, t_x=30.86, T=31
    btyd = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6562}
    lo, hi = _box(lambda p: F.p_alive("paretonbd", p, 26, 30.86, 31.0), btyd, 5e-5)
    _consistent(0.9979, lo, hi, 5e-5)
    lo, hi = _box(lambda p: F.expected_purchases("paretonbd", p, 52, 26, 30.86, 31.0), btyd, 5e-5)
    _consistent(25.46, lo, hi, 5e-3)
    # Gamma-Gamma: the first ten CDNOW customers (Fader & Hardie's spreadsheet)
    x = np.array([2, 1, 0, 0, 0, 7, 1, 0, 2, 0])
    mbar = np.array([22.35, 11.77, 0, 0, 0, 73.74, 11.77, 0, 25.55, 0])
    lo, hi = _box(lambda p: F.gg_expected_spend(p, x, mbar), GG, 5e-3)
    spend = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    _consistent(spend, lo, hi, 5e-3)


# --------------------------------------------------------------------------------- recovery
def _assert_recovered(fit: MLEFit, truth: dict[str, float]) -> None:
    """Each parameter within 3 standard errors, on the log scale the fit works in (delta method:
    se(log theta) = se / theta); the Wald interval of the skewed shape and scale estimates is
    better calibrated there."""
    assert fit.converged
    for k, v in truth.items():
        z = (math.log(fit.params[k]) - math.log(v)) / (fit.se[k] / fit.params[k])
        assert abs(z) < 3, (k, fit.params[k], fit.se[k], v)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("model", F.MODELS)
def test_mle_recovers_simulated_parameters(model: str, seed: int) -> None:
    truth = {
        "bgnbd": BG,
        "mbgnbd": MBG,
        "paretonbd": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67},
    }[model]
    n = 20_000 if model == "paretonbd" else 10_000
    T = np.random.default_rng(seed).uniform(27, 39, n)
    d = simulate(model, truth, T, seed=seed)
    fit = fit_mle(model, d["x"], d["t_x"], d["T"])
    assert fit.n == n and set(fit.params) == set(F.PARAM_NAMES[model])
    _assert_recovered(fit, truth)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gamma_gamma_mle_recovers_simulated_parameters(seed: int) -> None:
    x = np.random.default_rng(seed).integers(0, 8, 10_000)
    m = simulate_spend(GG, x, seed=seed)
    fit = fit_gamma_gamma_mle(x, m)
    assert fit.n == (x > 0).sum()
    _assert_recovered(fit, GG)


def test_weights_collapse_rows_without_changing_the_fit() -> None:
    T = np.random.default_rng(5).integers(27, 40, 3000).astype(float)
    d = simulate("bgnbd", BG, T, seed=5)
    x, tx = d["x"].to_numpy(), np.round(d["t_x"].to_numpy())  # whole weeks: many duplicates
    rows, counts = np.unique(np.column_stack([x, tx, T]), axis=0, return_counts=True)
    assert len(rows) < len(T) / 2
    full = fit_mle("bgnbd", x, tx, T)
    weighted = fit_mle("bgnbd", rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    assert weighted.n == full.n == len(T)
    assert weighted.loglik == pytest.approx(full.loglik, rel=1e-10)
    for k in full.params:
        assert weighted.params[k] == pytest.approx(full.params[k], rel=1e-5)
        assert weighted.se[k] == pytest.approx(full.se[k], rel=1e-3)
    assert full.cov.shape == (4, 4) and np.allclose(full.cov, full.cov.T)
    assert np.sqrt(np.diag(full.cov)) == pytest.approx([full.se[k] for k in full.params])


def test_mle_loglik_is_the_sum_of_the_per_customer_loglik() -> None:
    T = np.random.default_rng(6).uniform(20, 40, 2000)
    for model in F.MODELS:
        d = simulate(model, PUBLISHED[model], T, seed=6)
        fit = fit_mle(model, d["x"], d["t_x"], d["T"], initial=PUBLISHED[model])
        ll = F.loglik(model, fit.params, d["x"], d["t_x"], d["T"]).sum()
        assert fit.loglik == pytest.approx(ll, rel=1e-12)
        # the optimum: moving any parameter by 1% lowers the log-likelihood
        for k in fit.params:
            for f in (0.99, 1.01):
                moved = dict(fit.params, **{k: fit.params[k] * f})
                assert F.loglik(model, moved, d["x"], d["t_x"], d["T"]).sum() < ll


# --------------------------------------------------------------------------------- contract
def test_draws_broadcast_like_scalars() -> None:
    x = np.array([0, 1, 2, 7, 30])
    tx = np.array([0.0, 3.0, 20.0, 35.0, 38.0])
    T = np.full(5, 38.86)
    for model, prm in PUBLISHED.items():
        draws = {k: np.array([[v], [1.2 * v], [0.8 * v]]) for k, v in prm.items()}
        got = {
            "loglik": F.loglik(model, draws, x, tx, T),
            "p_alive": F.p_alive(model, draws, x, tx, T),
            "expected": F.expected_purchases(model, draws, 39.0, x, tx, T),
            "new": F.expected_purchases_new(model, draws, tx + 1),
            "prob": F.prob_purchases(model, draws, x, 39.0),
        }
        for i in range(3):
            one = {k: float(v[i, 0]) for k, v in draws.items()}
            want = {
                "loglik": F.loglik(model, one, x, tx, T),
                "p_alive": F.p_alive(model, one, x, tx, T),
                "expected": F.expected_purchases(model, one, 39.0, x, tx, T),
                "new": F.expected_purchases_new(model, one, tx + 1),
                "prob": F.prob_purchases(model, one, x, 39.0),
            }
            for k, v in got.items():
                assert v.shape == (3, 5), (model, k)
                np.testing.assert_allclose(v[i], want[k], rtol=1e-12, err_msg=f"{model} {k}")
    spend = {k: np.array([[v], [1.1 * v]]) for k, v in GG.items()}
    assert F.gg_expected_spend(spend, x, np.full(5, 20.0)).shape == (2, 5)
    assert F.gg_loglik(spend, x[1:], np.full(4, 20.0)).shape == (2, 4)


def test_pareto_draws_on_both_sides_of_alpha_equal_beta() -> None:
    """Draws with alpha < beta, alpha = beta and alpha > beta take different branches of the
    hypergeometric case split; each row equals the scalar evaluation."""
    draws = dict(PNBD, alpha=np.array([[10.578], [11.669], [12.5]]))
    x, tx, T = np.array([0, 1, 4, 60]), np.array([0.0, 2.0, 30.0, 37.0]), np.full(4, 38.86)
    ll = F.loglik("paretonbd", draws, x, tx, T)
    for i in range(3):
        one = dict(PNBD, alpha=float(draws["alpha"][i, 0]))
        np.testing.assert_allclose(ll[i], F.loglik("paretonbd", one, x, tx, T), rtol=1e-13)
    # and the value is continuous across alpha = beta
    near = [float(F.loglik("paretonbd", dict(PNBD, alpha=11.669 + e), 4, 30.0, 38.86)[()])
            for e in (-1e-9, 0.0, 1e-9)]  # fmt: skip
    assert max(near) - min(near) < 1e-8


def test_many_ages_are_integrated_once_each() -> None:
    T = np.round(np.random.default_rng(8).uniform(1, 80, 500), 1)  # repeated ages
    for n in (0, 3):
        many = F.prob_purchases("paretonbd", PNBD, n, T)
        one_by_one = [float(F.prob_purchases("paretonbd", PNBD, n, t)) for t in T[:20]]
        np.testing.assert_allclose(many[:20], one_by_one, rtol=1e-12)


def test_a_handful_of_customers_does_not_converge() -> None:
    """With three customers the likelihood is maximised at infinity along some direction: the
    fit says so instead of reporting a point on the ridge."""
    for model in F.MODELS:
        fit = fit_mle(model, [1, 0, 3], [2.0, 0.0, 5.0], [10.0, 20.0, 30.0])
        assert not fit.converged, model
    assert not fit_gamma_gamma_mle([1, 2, 3, 4, 5], [10.0, 12.0, 30.0, 8.0, 15.0]).converged


def test_no_overflow_for_heavy_buyers_and_old_customers() -> None:
    x = np.array([0, 100, 300, 500, 300])
    tx = np.array([0.0, 499.0, 250.0, 400.0, 5.0])
    T = np.array([500.0, 500.0, 500.0, 400.0, 500.0])
    for model, prm in PUBLISHED.items():
        ll = F.loglik(model, prm, x, tx, T)
        alive = F.p_alive(model, prm, x, tx, T)
        future = F.expected_purchases(model, prm, 520.0, x, tx, T)
        assert np.all(np.isfinite(ll)) and np.all(np.isfinite(future)) and np.all(future >= 0)
        assert np.all((alive >= 0) & (alive <= 1))
        assert alive[1] > 0.95 and alive[4] < 1e-6  # bought yesterday / silent for 495 weeks


def test_expectation_is_continuous_through_the_removable_singularities() -> None:
    prm = {"r": 0.5, "alpha": 3.0, "b": 2.0}
    at = [float(F.expected_purchases("bgnbd", dict(prm, a=a), 39.0, 2, 20.0, 38.0))
          for a in (1 - 1e-3, 1 - 1e-6, 1.0, 1 + 1e-6, 1 + 1e-3)]  # fmt: skip
    slope = (at[4] - at[0]) / 2e-3
    for near in (at[1], at[3]):  # 1e-6 away from a = 1 the value moves by the slope only
        assert abs(near - at[2]) <= 1.5e-6 * abs(slope) + 1e-12
    assert min(at[0], at[4]) < at[2] < max(at[0], at[4])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="bgnbd, paretonbd, mbgnbd"):
        F.loglik("bgnbd2", BG, 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="missing b"):
        F.p_alive("bgnbd", {"r": 1, "alpha": 1, "a": 1}, 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="positive"):
        F.p_alive("bgnbd", dict(BG, a=-1.0), 1, 1.0, 2.0)
    with pytest.raises(DataError, match="t_x"):
        F.loglik("paretonbd", PNBD, [1, 2], [3.0, 5.0], [4.0, 4.0])
    with pytest.raises(DataError, match="t_x must be 0"):
        F.loglik("bgnbd", BG, [0], [3.0], [4.0])
    with pytest.raises(DataError, match="whole numbers"):
        F.loglik("mbgnbd", MBG, [1.5], [3.0], [4.0])
    with pytest.raises(DataError, match="missing"):
        fit_mle("bgnbd", [1, np.nan], [1.0, 1.0], [2.0, 2.0])
    with pytest.raises(DataError, match="repeat purchases"):
        F.gg_loglik(GG, [0, 1], [10.0, 10.0])
    with pytest.raises(DataError, match="no customer"):
        fit_gamma_gamma_mle([0, 0], [np.nan, np.nan])
    with pytest.raises(DataError, match="weights"):
        fit_mle("bgnbd", [1, 2], [1.0, 1.0], [2.0, 2.0], weights=[1, -1])


def test_simulation_is_reproducible_and_keeps_the_story() -> None:
    T = np.linspace(1, 50, 2000)
    for model, prm in PUBLISHED.items():
        a = simulate(model, prm, T, seed=9, holdout=10.0)
        b = simulate(model, prm, T, seed=9, holdout=10.0)
        assert a.equals(b)
        assert list(a.columns[:6]) == ["x", "t_x", "T", "alive", "x_holdout", "lambda"]
        assert ("mu" if model == "paretonbd" else "p") in a
        assert (a["t_x"] <= a["T"]).all() and (a.loc[a["x"] == 0, "t_x"] == 0).all()
        assert not ((~a["alive"]) & (a["x_holdout"] > 0)).any()  # the dead do not buy
        if model == "bgnbd":  # only a repeat purchase can end a BG/NBD customer
            assert a.loc[a["x"] == 0, "alive"].all()
        else:
            assert not a.loc[a["x"] == 0, "alive"].all()
