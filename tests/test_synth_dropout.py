"""The generator's customer dropout and customer-value truth (buy-till-you-die ground truth).

Every subscriber has a true dropout time after which they never order (exponential-gamma
lifetimes, clocked from signup or the scenario start), and a holdout after the period whose orders
are drawn with the business-as-usual hazard. Tolerances are Monte Carlo standard errors computed
from the world itself (4 to 4.5 of them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from workbench._io import file_sha256
from workbench.errors import WorkbenchError
from workbench.synth import Scenario, generate_world, load_scenario, parse_scenario
from workbench.synth.calendar import DAY, build_calendar
from workbench.synth.personas import RESPONSE_KEYS, load_personas
from workbench.synth.simulate import DROPOUT_CAP, PURCHASE_MULT, STAGES, ChunkSimulator
from workbench.truth import TRUTH_FILE, load_truth

_TINY = load_scenario("tiny")
_EPOCH = pd.Timestamp(0, tz="UTC")


def _scenario(n: int, days: int, lifetime_days: float | None = None, **persona: Any) -> Scenario:
    """The tiny scenario resized, with every persona's ``lifetime_days`` (and more) replaced."""
    if lifetime_days is not None:
        persona["lifetime_days"] = lifetime_days
    personas = {k: p.replace(**persona) for k, p in _TINY.personas.items()}
    return Scenario(**{**_TINY.__dict__, "n_subscribers": n, "days": days, "personas": personas})


def _seconds(ts: pd.Series) -> np.ndarray:
    return ((ts - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def _gen(sc: Scenario, seed: int, out: Path) -> Path:
    return generate_world(sc, seed=seed, out=out)


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Path]:
    """Short lifetimes (60 days) over six weeks: many subscribers drop out during the period."""
    sc = _scenario(8000, 42, lifetime_days=60.0)
    return sc, _gen(sc, 17, tmp_path_factory.mktemp("short") / "w")


@pytest.fixture(scope="module")
def builtin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Path]:
    """The built-in lifetimes of the personas."""
    sc = _scenario(1500, 56)
    return sc, _gen(sc, 5, tmp_path_factory.mktemp("builtin") / "w")


def _truth(world: Path) -> pd.DataFrame:
    return load_truth(world, tables=["truth_subscribers"])["truth_subscribers"]


def _clock(sc: Scenario, world: Path, t: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Each subscriber's clock start (seconds) and the end of the period."""
    cal = build_calendar(sc)
    subs = pd.read_parquet(world / "subscribers.parquet").set_index("subscriber_id")
    signup = _seconds(subs.loc[t["subscriber_id"], "signup_ts"])
    return np.maximum(signup, cal.slot0), cal.slot0 + sc.days * DAY


def _survival(sc: Scenario, t: pd.DataFrame, days: np.ndarray) -> np.ndarray:
    """Exponential-gamma survival ``(1 + t / (s L)) ** -s`` per subscriber and duration."""
    s = t["persona"].map({k: p.lifetime_shape for k, p in sc.personas.items()}).to_numpy()
    L = t["persona"].map({k: p.lifetime_days for k, p in sc.personas.items()}).to_numpy()
    return (1 + np.asarray(days, float) / (s * L)) ** -s


def _check_share(observed: np.ndarray, prob: np.ndarray, z: float = 4.5) -> None:
    """A share of independent Bernoulli outcomes against their probabilities."""
    se = np.sqrt(np.sum(prob * (1 - prob))) / prob.size
    assert abs(observed.mean() - prob.mean()) < z * se, (observed.mean(), prob.mean(), se)


# ------------------------------------------------------------------------------ dropout


@pytest.mark.parametrize("which", ["short", "builtin"])
def test_no_order_on_or_after_the_dropout_day(which: str, request: pytest.FixtureRequest) -> None:
    sc, world = request.getfixturevalue(which)
    t = _truth(world)
    orders = pd.read_parquet(world / "orders.parquet").merge(t, on="subscriber_id")
    assert len(orders) > 100
    slot0 = build_calendar(sc).slot0
    order_day = (_seconds(orders["ts"]) - slot0) // DAY
    drop_day = (_seconds(orders["dropout_ts"]) - slot0) // DAY
    assert (order_day < drop_day).all()
    assert (orders["ts"] < orders["dropout_ts"]).all()
    # the dropout is visible: some subscribers stop during the period, most do not
    clock, end = _clock(sc, world, t)
    dropped = (~t["alive_at_end"]).mean()
    assert (0.02 < dropped < 0.5) if which == "builtin" else (dropped > 0.2)
    assert (_seconds(t["dropout_ts"]) >= clock).all()
    assert (t["alive_at_end"] == (_seconds(t["dropout_ts"]) >= end)).all()


def test_alive_share_follows_the_exponential_gamma_model(short: tuple[Scenario, Path]) -> None:
    sc, world = short
    t = _truth(world)
    clock, end = _clock(sc, world, t)
    _check_share(t["alive_at_end"].to_numpy(), _survival(sc, t, (end - clock) / DAY))
    # the whole lifetime distribution, at several durations (beyond the period too)
    life = (_seconds(t["dropout_ts"]) - clock) / DAY
    for x in (3.0, 20.0, 60.0, 200.0, 1000.0):
        _check_share(life > x, _survival(sc, t, np.full(len(t), x)))


def test_builtin_lifetimes_leave_a_visible_minority(builtin: tuple[Scenario, Path]) -> None:
    sc, world = builtin
    t = _truth(world)
    # the personas the truth file records are the ones simulated
    kept = json.loads((world / TRUTH_FILE).read_text())["scenario"]["personas"]
    assert kept["lapsing"]["lifetime_days"] < kept["new_onboarding"]["lifetime_days"]
    assert kept["new_onboarding"]["lifetime_days"] < kept["loyal_buyer"]["lifetime_days"]
    clock, end = _clock(sc, world, t)
    prob = _survival(sc, t, (end - clock) / DAY)
    _check_share(t["alive_at_end"].to_numpy(), prob)
    lapsing = (t["persona"] == "lapsing").to_numpy()
    _check_share(t["alive_at_end"].to_numpy()[lapsing], prob[lapsing])
    assert t.loc[lapsing, "alive_at_end"].mean() < t.loc[~lapsing, "alive_at_end"].mean()


# ------------------------------------------------------------------------------ holdout


def test_holdout_orders_of_the_dropped_are_zero(short: tuple[Scenario, Path]) -> None:
    _, world = short
    t = _truth(world)
    dead = t[~t["alive_at_end"]]
    assert len(dead) > 500
    assert (dead["holdout_orders"] == 0).all() and (dead["expected_holdout_orders"] == 0).all()
    assert (dead["holdout_revenue"] == 0).all()
    # revenue exactly where there are orders
    assert ((t["holdout_revenue"] > 0) == (t["holdout_orders"] > 0)).all()
    assert (t["holdout_orders"] >= 0).all() and t["holdout_orders"].max() <= 91


def test_holdout_hazard_follows_the_final_stage(short: tuple[Scenario, Path]) -> None:
    """Daily order probability of the living: at least the base rate x the stage multiplier."""
    sc, world = short
    t = _truth(world)
    clock, end = _clock(sc, world, t)
    alive_days = np.clip((_seconds(t["dropout_ts"]) - end) // DAY, 0, sc.holdout_days)
    ok = alive_days > 0
    p = t["expected_holdout_orders"].to_numpy()[ok] / alive_days[ok]
    stage = t["final_stage"].to_numpy()[ok]
    base = (
        t["purchase_rate"].to_numpy()[ok]
        * pd.Series(stage).map(dict(zip(STAGES, PURCHASE_MULT, strict=True))).to_numpy()
    )
    assert (p >= -np.expm1(-base) * (1 - 1e-9)).all()
    assert (p < 1).all()
    # the marketing hazard of the period's last weeks carries on for most
    assert np.mean(p > -np.expm1(-base) * (1 + 1e-6)) > 0.5


def test_holdout_hazard_without_marketing_is_the_base_rate(tmp_path: Path) -> None:
    """No touch has an effect: the holdout's daily probability is base rate x stage multiplier."""
    quiet = _scenario(1500, 42, channel_response={k: 0.0 for k in RESPONSE_KEYS})
    world = _gen(quiet, 3, tmp_path / "w")
    t = _truth(world)
    clock, end = _clock(quiet, world, t)
    alive_days = np.clip((_seconds(t["dropout_ts"]) - end) // DAY, 0, quiet.holdout_days)
    mult = t["final_stage"].map(dict(zip(STAGES, PURCHASE_MULT, strict=True))).to_numpy()
    p = -np.expm1(-t["purchase_rate"].to_numpy() * mult)
    np.testing.assert_allclose(t["expected_holdout_orders"], p * alive_days, rtol=1e-9)
    assert len(set(t["final_stage"])) >= 4


def test_everyone_gone_at_once_means_no_orders_and_no_true_effects(tmp_path: Path) -> None:
    """Dropout at the clock's start: no order, no conversion under any arm or channel."""
    world = _gen(_scenario(600, 42, lifetime_days=1e-6), 2, tmp_path / "w")
    assert len(pd.read_parquet(world / "orders.parquet")) == 0
    truth = load_truth(world, tables=["truth_subscribers", "truth_effects", "truth_channels"])
    assert not truth["truth_subscribers"]["alive_at_end"].any()
    assert truth["truth_subscribers"]["holdout_orders"].sum() == 0
    te = truth["truth_effects"]
    assert len(te) > 0 and (te["conversion_rate"] == 0).all()
    assert (te["revenue_per_recipient"] == 0).all()
    assert (truth["truth_channels"][["conversions", "conversions_without"]] == 0).all().all()


@pytest.mark.parametrize("which", ["short", "builtin"])
def test_holdout_orders_match_their_expectation(which: str, request: pytest.FixtureRequest) -> None:
    """Mean orders and revenue against the truth's expectation (binomial counts: var <= mean)."""
    _, world = request.getfixturevalue(which)
    t = _truth(world)
    n = len(t)
    e = t["expected_holdout_orders"].to_numpy()
    assert t["holdout_orders"].sum() > 200
    se = np.sqrt(e.sum()) / n
    assert abs(t["holdout_orders"].mean() - e.mean()) < 4 * se
    # values: log-normal with the subscriber's mean_order_value; E[v^2] = mean^2 exp(sigma^2)
    sigma = t["persona"].map({k: p.order_value_sigma for k, p in _TINY.personas.items()})
    v = t["mean_order_value"].to_numpy()
    ev2 = v**2 * np.exp(sigma.to_numpy() ** 2)
    se_rev = np.sqrt(np.sum(e * ev2)) / n
    assert abs(t["holdout_revenue"].mean() - np.mean(e * v)) < 4 * se_rev


def test_holdout_length_is_truth_only(tmp_path: Path) -> None:
    doc = {"scenario": {"name": "h", "subscribers": 300, "days": 14, "holdout_days": 0}}
    sc = parse_scenario(doc)
    assert sc.holdout_days == 0 and _TINY.holdout_days == 91
    world = _gen(sc, 1, tmp_path / "w")
    t = _truth(world)
    assert (t["holdout_orders"] == 0).all() and (t["expected_holdout_orders"] == 0).all()
    assert "holdout_days" not in (world / "world.json").read_text()
    assert json.loads((world / TRUTH_FILE).read_text())["holdout_days"] == 0


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"scenario": {"name": "x", "holdout_days": -1}}, "scenario.holdout_days"),
        ({"scenario": {"name": "x", "holdout_days": 1.5}}, "scenario.holdout_days"),
        ({"scenario": {"name": "x"}, "personas": {"lapsing": {"lifetime_days": 0.0}}}, "> 0"),
        ({"scenario": {"name": "x"}, "personas": {"lapsing": {"lifetime_shape": -1.0}}}, "shape"),
    ],
)
def test_bad_lifetime_settings_name_the_key(doc: dict, needle: str) -> None:
    with pytest.raises(WorkbenchError, match=needle):
        parse_scenario(doc, "s.toml")


def test_persona_defaults_apply_to_personas_without_lifetimes() -> None:
    p = load_personas('[personas.x]\ndescription = "no lifetime set"\n')["x"]
    assert p.lifetime_days == 540.0 and p.lifetime_shape == 1.5


# ------------------------------------------------------------------------------ streams


def test_same_seed_gives_the_same_world(builtin: tuple[Scenario, Path], tmp_path: Path) -> None:
    sc, world = builtin
    again = _gen(sc, 5, tmp_path / "again")
    files = sorted(p.name for p in world.iterdir())
    assert "truth_subscribers.parquet" in files
    assert files == sorted(p.name for p in again.iterdir())
    for name in files:
        assert file_sha256(world / name) == file_sha256(again / name), name


def test_lifetimes_draw_from_their_own_stream(
    builtin: tuple[Scenario, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Immortal lifetimes give the world of a simulator that draws no lifetimes at all."""
    sc, _ = builtin
    immortal = _scenario(sc.n_subscribers, sc.days, lifetime_days=1e12)
    drawn = _gen(immortal, 5, tmp_path / "drawn")

    def no_draws(self: ChunkSimulator) -> None:
        self.dropout_rate = np.zeros(self.n)
        self.dropout_ts = np.full(self.n, DROPOUT_CAP, np.int64)
        self.dropout_day = (self.dropout_ts - self.cal.slot0) // DAY

    monkeypatch.setattr(ChunkSimulator, "_lifetimes", no_draws)
    skipped = _gen(immortal, 5, tmp_path / "skipped")  # one chunk: simulated in this process
    for name in ("subscribers", "email_events", "touchpoints", "orders", "truth_effects"):
        f = f"{name}.parquet"
        assert file_sha256(drawn / f) == file_sha256(skipped / f), name


def test_lifetimes_move_only_the_orders(builtin: tuple[Scenario, Path], tmp_path: Path) -> None:
    """Everything but the orders is drawn as before; orders are the immortal world's, cut."""
    sc, world = builtin
    immortal = _gen(_scenario(sc.n_subscribers, sc.days, lifetime_days=1e12), 5, tmp_path / "w")
    for name in ("subscribers", "email_events", "assignments", "campaigns", "truth_lifecycle"):
        f = f"{name}.parquet"
        assert file_sha256(world / f) == file_sha256(immortal / f), name
    tp = [pd.read_parquet(w / "touchpoints.parquet") for w in (world, immortal)]
    # every touch but the navigational visits before orders (direct, organic search)
    other = [x[~x["channel"].isin(["direct", "organic_search"])].reset_index(drop=True) for x in tp]
    pd.testing.assert_frame_equal(other[0], other[1])
    t_mortal, t_immortal = _truth(world), _truth(immortal)
    assert t_immortal["alive_at_end"].all() and not t_mortal["alive_at_end"].all()
    # common random numbers: the orders are the immortal world's before each dropout day
    slot0 = build_calendar(sc).slot0

    def days(w: Path, t: pd.DataFrame) -> pd.DataFrame:
        o = pd.read_parquet(w / "orders.parquet").merge(t, on="subscriber_id")
        o["day"] = (_seconds(o["ts"]) - slot0) // DAY
        return o

    mortal = days(world, t_mortal)
    cut = days(immortal, t_immortal[["subscriber_id"]].merge(t_mortal, on="subscriber_id"))
    cut = cut[cut["day"] < (_seconds(cut["dropout_ts"]) - slot0) // DAY]
    key = ["subscriber_id", "day"]
    assert len(cut) < len(days(immortal, t_immortal))
    pd.testing.assert_frame_equal(
        mortal[key].sort_values(key).reset_index(drop=True),
        cut[key].sort_values(key).reset_index(drop=True),
    )
