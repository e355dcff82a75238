"""Attribution models: hand-computed examples, exact Markov chains, Shapley axioms, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.attribution import (
    PATH_MODELS,
    MarkovAttribution,
    attribute,
    compare_models,
    read_paths,
    validate_paths,
    write_paths,
)
from workbench.attribution.journeys import paths_to_pathset
from workbench.attribution.simulate import simulate_paths
from workbench.cli import main
from workbench.errors import DataError, WorkbenchError

PATHS = pd.DataFrame(
    {
        "path": ["email > sms > direct", "sms", "direct > email"],
        "total_conversions": [1.0, 2.0, 1.0],
        "total_conversion_value": [10.0, 4.0, 6.0],
        "total_null": [0.0, 1.0, 2.0],
    }
)


EXACT = {"rel": 1e-12, "abs": 1e-12}  # hand-derived closed forms: only rounding error allowed


def credits(model: str, data: pd.DataFrame = PATHS, **kw: object) -> dict[str, float]:
    r = attribute(data, model, **kw)
    return dict(zip(r["channel"], r["conversions"], strict=True))


def values(model: str, data: pd.DataFrame = PATHS, **kw: object) -> dict[str, float]:
    r = attribute(data, model, **kw)
    return dict(zip(r["channel"], r["value"], strict=True))


# ------------------------------------------------------------------------- rule-based models


@pytest.mark.parametrize(
    ("model", "kw", "conv", "val"),
    [
        ("first", {}, {"direct": 1, "email": 1, "sms": 2}, {"direct": 6, "email": 10, "sms": 4}),
        ("last", {}, {"direct": 1, "email": 1, "sms": 2}, {"direct": 10, "email": 6, "sms": 4}),
        (
            "last_non_direct",
            {},
            {"direct": 0, "email": 1, "sms": 3},
            {"direct": 0, "email": 6, "sms": 14},
        ),
        (
            "linear",
            {},
            {"direct": 1 / 3 + 1 / 2, "email": 1 / 3 + 1 / 2, "sms": 1 / 3 + 2},
            {"direct": 10 / 3 + 3, "email": 10 / 3 + 3, "sms": 10 / 3 + 4},
        ),
        (
            "position",
            {},
            {"direct": 0.4 + 0.5, "email": 0.4 + 0.5, "sms": 0.2 + 2},
            {"direct": 4 + 3, "email": 4 + 3, "sms": 2 + 4},
        ),
        (
            "position",
            {"first": 0.3, "last": 0.6},
            {"direct": 0.6 + 1 / 3, "email": 0.3 + 2 / 3, "sms": 0.1 + 2},
            {"direct": 6 + 2, "email": 3 + 4, "sms": 1 + 4},
        ),
        (
            "time_decay",  # paths file: age in touches; half-life 1 => weights 1/4, 1/2, 1
            {"half_life": 1.0},
            {"direct": 4 / 7 + 1 / 3, "email": 1 / 7 + 2 / 3, "sms": 2 / 7 + 2},
            {"direct": 40 / 7 + 2, "email": 10 / 7 + 4, "sms": 20 / 7 + 4},
        ),
    ],
)
def test_rule_models_by_hand(model: str, kw: dict, conv: dict, val: dict) -> None:
    assert credits(model, **kw) == pytest.approx(conv, **EXACT)
    assert values(model, **kw) == pytest.approx(val, **EXACT)


def test_last_non_direct_all_direct_path_keeps_direct() -> None:
    df = pd.DataFrame({"path": ["direct > direct", "sms > direct"], "total_conversions": [1, 2]})
    assert credits("last_non_direct", df) == pytest.approx({"direct": 1, "sms": 2})


def test_share_columns() -> None:
    r = attribute(PATHS, "linear")
    assert list(r.columns) == ["channel", "conversions", "value", "share", "value_share"]
    assert r["share"].sum() == pytest.approx(1.0)
    assert r["value_share"].sum() == pytest.approx(1.0)
    assert r["channel"].tolist() == sorted(r["channel"])


# ------------------------------------------------------------------------------------- Markov

SMALL = pd.DataFrame(
    {"path": ["a", "a > b", "b"], "total_conversions": [3, 1, 0], "total_null": [1, 1, 2]}
)


def test_markov_removal_effects_by_hand() -> None:
    # start->a 6/8, start->b 2/8; a: conv 3/6, null 1/6, ->b 2/6; b: conv 1/4, null 3/4.
    # P(conv) = 6/8 * (3/6 + 2/6 * 1/4) + 2/8 * 1/4 = 1/2;
    # without a: 2/8 * 1/4 = 1/16 (effect 7/8); without b: 6/8 * 3/6 = 3/8 (effect 1/4).
    m = MarkovAttribution(order=1).fit(paths_to_pathset(validate_paths(SMALL)))
    assert m.conversion_probability_ == pytest.approx(0.5, **EXACT)
    re = dict(zip(m.removal_effects_["channel"], m.removal_effects_["removal_effect"], strict=True))
    assert re == pytest.approx({"a": 7 / 8, "b": 1 / 4}, **EXACT)
    assert credits("markov", SMALL) == pytest.approx({"a": 4 * 7 / 9, "b": 4 * 2 / 9}, **EXACT)
    tm = m.transition_matrix()
    assert tm.loc["(start)", "a"] == pytest.approx(6 / 8, **EXACT)
    assert tm.loc["a", "(conversion)"] == pytest.approx(3 / 6, **EXACT)
    np.testing.assert_allclose(tm.sum(axis=1), 1.0, rtol=1e-12)


def test_markov_value_removal_effects() -> None:
    # one channel per path: value credit follows the value each channel's paths bring
    df = pd.DataFrame(
        {
            "path": ["a", "b"],
            "total_conversions": [1, 1],
            "total_conversion_value": [30.0, 10.0],
            "total_null": [1, 1],
        }
    )
    assert values("markov", df) == pytest.approx({"a": 30.0, "b": 10.0}, **EXACT)
    assert credits("markov", df) == pytest.approx({"a": 1.0, "b": 1.0}, **EXACT)


JOURNEYS_3 = pd.DataFrame(
    {
        "path": ["email > sms", "sms", "email > direct > sms > sms"],
        "total_conversions": [2, 1, 1],
        "total_conversion_value": [20.0, 5.0, 3.0],
        "total_null": [3, 4, 2],
    }
)  # 13 journeys, 4 conversions, value 28


def test_markov_order_1_by_hand() -> None:
    # Order 1. start->email 8/13, ->sms 5/13; email->sms 5/8, ->direct 3/8; direct->sms 1;
    # sms->sms 3/16, conv 4/16, null 9/16. With x = P(conv | sms): x = 3/16 x + 4/16, x = 4/13,
    # and every other state reaches sms surely, so P(conv) = 4/13.
    # Without email: 5/13 x (effect 8/13); without sms: 0 (effect 1); without direct:
    # 8/13 * 5/8 x + 5/13 x = 10/13 x (effect 3/13). Credits: 4 * effect / (24/13).
    m = MarkovAttribution(order=1).fit(paths_to_pathset(validate_paths(JOURNEYS_3)))
    assert m.conversion_probability_ == pytest.approx(4 / 13, **EXACT)
    re = dict(zip(m.removal_effects_["channel"], m.removal_effects_["removal_effect"], strict=True))
    assert re == pytest.approx({"direct": 3 / 13, "email": 8 / 13, "sms": 1.0}, **EXACT)
    expected = {"direct": 1 / 2, "email": 4 / 3, "sms": 13 / 6}
    assert credits("markov", JOURNEYS_3) == pytest.approx(expected, **EXACT)


def test_markov_order_2_by_hand() -> None:
    # Order 2: a state is the last two channels. start->(email) 8/13, ->(sms) 5/13;
    # (email)->(email,sms) 5/8, ->(email,direct) 3/8; (email,direct)->(direct,sms)->(sms,sms).
    # Ends: (email,sms) conv 2/5, value 20/5 per journey; (sms) conv 1/5, value 5/5;
    # (sms,sms) conv 1/3, value 3/3.
    # P(conv) = 8/13 (5/8 * 2/5 + 3/8 * 1/3) + 5/13 * 1/5 = 4/13;
    # E(value) = 8/13 (5/8 * 4 + 3/8 * 1) + 5/13 * 1 = 28/13.
    # Without email: conv 1/13, value 5/13 (effects 3/4, 23/28); without sms: 0, 0 (1, 1);
    # without direct: conv 3/13, value 25/13 (effects 1/4, 3/28).
    # Conversions 4 * effect / 2; value 28 * effect / (54/28).
    m2 = MarkovAttribution(order=2).fit(paths_to_pathset(validate_paths(JOURNEYS_3)))
    assert ("email", "direct") in m2.states_ and ("sms", "sms") in m2.states_
    assert m2.conversion_probability_ == pytest.approx(4 / 13, **EXACT)
    assert m2.expected_value_ == pytest.approx(28 / 13, **EXACT)
    re = m2.removal_effects_.set_index("channel")
    assert re["removal_effect"].to_dict() == pytest.approx(
        {"direct": 1 / 4, "email": 3 / 4, "sms": 1.0}, **EXACT
    )
    assert re["value_removal_effect"].to_dict() == pytest.approx(
        {"direct": 3 / 28, "email": 23 / 28, "sms": 1.0}, **EXACT
    )
    expected = {"direct": 1 / 2, "email": 3 / 2, "sms": 2.0}
    assert credits("markov", JOURNEYS_3, order=2) == pytest.approx(expected, **EXACT)
    expected_value = {"direct": 14 / 9, "email": 322 / 27, "sms": 392 / 27}
    assert values("markov", JOURNEYS_3, order=2) == pytest.approx(expected_value, **EXACT)


def test_markov_order_1_equals_classic_and_higher_orders_rank_alike() -> None:
    paths = simulate_paths(20_000, ("a", "b", "c", "d"), seed=3, concentration=0.7)
    r = compare_models(paths, ["markov1", "markov2", "markov3"])
    share = r.pivot(index="channel", columns="model", values="share")
    for k in ("markov2", "markov3"):  # order-1 data: higher orders find the same ranking
        assert share["markov1"].rank().tolist() == share[k].rank().tolist()
        np.testing.assert_allclose(share[k], share["markov1"], atol=0.03)
    assert attribute(paths, "markov").equals(attribute(paths, "markov", order=1))


def test_markov_bad_order() -> None:
    with pytest.raises(WorkbenchError, match="order"):
        attribute(PATHS, "markov", order=5)


# ------------------------------------------------------------------------------------ Shapley


def test_shapley_efficiency_symmetry_and_methods_agree() -> None:
    df = pd.DataFrame(
        {
            "path": ["a > b", "b > a", "c", "a > c > b", "d"],
            "total_conversions": [2, 2, 1, 3, 0],
            "total_conversion_value": [5.0, 5.0, 1.0, 9.0, 0.0],
        }
    )
    exact = attribute(df, "shapley")
    assert exact["conversions"].sum() == pytest.approx(8.0)
    assert exact["value"].sum() == pytest.approx(20.0)
    c = credits("shapley", df)
    assert c["a"] == pytest.approx(c["b"], **EXACT)  # a and b are symmetric
    # closed form: each channel set's worth split equally among its members
    assert c == pytest.approx({"a": 4 / 2 + 3 / 3, "b": 4 / 2 + 3 / 3, "c": 1 + 3 / 3, "d": 0.0},
                              **EXACT)  # fmt: skip
    v = values("shapley", df)
    assert v == pytest.approx({"a": 10 / 2 + 9 / 3, "b": 10 / 2 + 9 / 3, "c": 1 + 9 / 3, "d": 0.0},
                              **EXACT)  # fmt: skip
    enum = attribute(df, "shapley", shapley_method="coalitions")
    pd.testing.assert_frame_equal(exact, enum, check_exact=False, rtol=1e-12)
    samp = attribute(df, "shapley", shapley_method="sampling", n_permutations=400, seed=1)
    np.testing.assert_allclose(samp["conversions"], exact["conversions"], atol=0.3)
    assert samp["conversions"].sum() == pytest.approx(8.0)


@pytest.mark.parametrize("method", ["exact", "coalitions"])
def test_shapley_three_player_game_by_the_definition(method: str) -> None:
    # Channel sets {a}: 1 conversion, {a,b}: 2, {a,b,c}: 3 (order and repeats do not count), so
    # v(a)=1, v(b)=v(c)=v(bc)=0, v(ab)=3, v(ac)=1, v(abc)=6. Shapley weights for 3 players:
    # 1/3 (empty coalition), 1/6 (one other), 1/3 (both others).
    # phi(a) = 1/3*1 + 1/6*(3-0) + 1/6*(1-0) + 1/3*(6-0) = 3
    # phi(b) = 1/3*0 + 1/6*(3-1) + 1/6*(0-0) + 1/3*(6-1) = 2
    # phi(c) = 1/3*0 + 1/6*(1-1) + 1/6*(0-0) + 1/3*(6-3) = 1
    df = pd.DataFrame(
        {
            "path": ["a", "b > a > b", "c > b > a > c"],
            "total_conversions": [1, 2, 3],
            "total_conversion_value": [10.0, 0.0, 30.0],
            "total_null": [5, 0, 1],
        }
    )
    assert credits("shapley", df, shapley_method=method) == pytest.approx(
        {"a": 3.0, "b": 2.0, "c": 1.0}, **EXACT
    )
    # value game: v(a)=10, v(ab)=10, v(ac)=10, v(abc)=40, others 0
    # phi(a) = 1/3*10 + 1/6*10 + 1/6*10 + 1/3*40 = 20; phi(b) = phi(c) = 1/3*(40-10) = 10
    assert values("shapley", df, shapley_method=method) == pytest.approx(
        {"a": 20.0, "b": 10.0, "c": 10.0}, **EXACT
    )


def test_shapley_coalitions_refuse_too_many_channels() -> None:
    df = pd.DataFrame({"path": [" > ".join(f"c{i}" for i in range(16))], "total_conversions": [1]})
    with pytest.raises(WorkbenchError, match="at most 15 channels"):
        attribute(df, "shapley", shapley_method="coalitions")
    assert attribute(df, "shapley")["conversions"].sum() == pytest.approx(1.0)


def test_shapley_sampling_is_seeded() -> None:
    a = attribute(PATHS, "shapley", shapley_method="sampling", n_permutations=50, seed=7)
    b = attribute(PATHS, "shapley", shapley_method="sampling", n_permutations=50, seed=7)
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------- every model at once

path_rows = st.lists(
    st.tuples(
        st.lists(st.sampled_from(["email", "sms", "push", "direct"]), min_size=1, max_size=6),
        st.integers(0, 5),
        st.floats(0, 100, allow_nan=False),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(rows=path_rows, order=st.integers(1, 4))
def test_credits_nonnegative_and_sum_to_totals(rows: list, order: int) -> None:
    df = pd.DataFrame(
        {
            "path": [" > ".join(p) for p, *_ in rows],
            "total_conversions": [float(c) for _, c, _, _ in rows],
            "total_conversion_value": [v * (c > 0) for _, c, v, _ in rows],
            "total_null": [float(n) for *_, n in rows],
        }
    )
    total, total_value = df["total_conversions"].sum(), df["total_conversion_value"].sum()
    r = compare_models(df, order=order, half_life=2.0)
    assert set(r["model"]) == set(PATH_MODELS)
    assert (r[["conversions", "value"]] >= 0).all().all()
    sums = r.groupby("model")[["conversions", "value"]].sum()
    np.testing.assert_allclose(sums["conversions"], total, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sums["value"], total_value, rtol=1e-9, atol=1e-6)


def test_deterministic_and_row_order_invariant() -> None:
    paths = simulate_paths(5_000, seed=11)
    a = compare_models(paths)
    b = compare_models(paths.sample(frac=1.0, random_state=np.random.default_rng(0)))
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(a, compare_models(paths))


def test_per_segment() -> None:
    df = pd.concat(
        [PATHS.assign(cohort="x"), SMALL.assign(cohort="y", total_conversion_value=0.0)],
        ignore_index=True,
    )
    r = attribute(df, "linear", by="cohort")
    assert list(r.columns[:2]) == ["cohort", "channel"]
    x = r[r["cohort"] == "x"].set_index("channel")["conversions"]
    assert x.to_dict() == pytest.approx(
        {"a": 0, "b": 0, **credits("linear")}
    )  # one channel list for all segments
    assert r.groupby("cohort")["conversions"].sum().to_dict() == pytest.approx({"x": 4, "y": 4})
    long = compare_models(df, ["first", "markov2"], by="cohort")
    assert list(long.columns[:3]) == ["model", "cohort", "channel"]


def test_unknown_model() -> None:
    with pytest.raises(WorkbenchError, match="unknown model"):
        attribute(PATHS, "magic")


# ------------------------------------------------------------------------ paths file layout


def test_validate_aggregates_and_normalises() -> None:
    df = pd.DataFrame({"path": ["a>b", " a >  b ", "c"], "total_conversions": [1, 2, 0]})
    v = validate_paths(df)
    assert v["path"].tolist() == ["a > b", "c"]
    assert v["total_conversions"].tolist() == [3, 0]
    assert v["total_null"].tolist() == [0, 0]


@pytest.mark.parametrize(
    ("rows", "column", "problem"),
    [
        ({"path": ["a > b", "a, b"], "total_conversions": [1, 1]}, "path", "bad separator"),
        ({"path": ["a > b", "a|b"], "total_conversions": [1, 1]}, "path", "bad separator"),
        ({"path": ["a -> b"], "total_conversions": [1]}, "path", "bad separator"),
        ({"path": ["a", "  "], "total_conversions": [1, 1]}, "path", "empty paths"),
        ({"path": ["a > > b"], "total_conversions": [1]}, "path", "empty channel"),
        ({"path": ["a", None], "total_conversions": [1, 1]}, "path", "missing"),
        ({"path": ["a", "b"], "total_conversions": [1, -2]}, "total_conversions", "negative"),
        (
            {"path": ["a"], "total_conversions": [1], "total_null": [np.nan]},
            "total_null",
            "missing",
        ),
        ({"path": ["a"], "total_conversions": ["x"]}, "total_conversions", "non-numeric"),
        (
            {"path": ["a"], "total_conversions": [1], "total_nul": [1]},
            "total_nul",
            "unknown column",
        ),
        ({"path": ["a"], "conversions": [1]}, "total_conversions", "missing required"),
    ],
)
def test_malformed_paths_name_column_and_row(rows: dict, column: str, problem: str) -> None:
    with pytest.raises(DataError, match=problem) as err:
        validate_paths(pd.DataFrame(rows), "f.csv")
    assert err.value.column == column
    assert err.value.source == "f.csv"
    if err.value.n_rows:
        assert str(err.value.examples[0]).startswith("row ")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_roundtrip(tmp_path, suffix: str) -> None:
    out = write_paths(validate_paths(PATHS), tmp_path / f"p{suffix}")
    back = read_paths(out)
    pd.testing.assert_frame_equal(back, validate_paths(PATHS), check_dtype=False)


def test_read_csv_with_unquoted_comma(tmp_path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("path,total_conversions,total_null\nemail > sms,1,0\nemail, sms,2,3\n")
    with pytest.raises(DataError, match="line 3 has 4 fields, header has 3") as err:
        read_paths(f)
    assert err.value.column == "path" and "unquoted path" in str(err.value)


def test_read_missing_file(tmp_path) -> None:
    with pytest.raises(DataError, match="no such paths file"):
        read_paths(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------ CLI


def test_cli_attribute_writes_and_is_byte_identical(tmp_path, capsys) -> None:
    src = write_paths(simulate_paths(2_000, seed=2), tmp_path / "paths.csv")
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}.csv"
        assert main(["attribute", "--paths", str(src), "--model", "markov", "--order", "2",
                     "--out", str(out)]) == 0  # fmt: skip
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    res = pd.read_csv(tmp_path / "out0.csv")
    assert list(res.columns[:4]) == ["channel", "conversions", "value", "share"]
    assert res["conversions"].sum() == pytest.approx(
        simulate_paths(2_000, seed=2)["total_conversions"].sum()
    )
    assert "markov" in capsys.readouterr().out


@pytest.mark.parametrize("model", PATH_MODELS)
def test_cli_every_model_and_segments(tmp_path, model: str) -> None:
    df = pd.concat(
        [PATHS.assign(seg="x"), SMALL.assign(seg="y", total_conversion_value=0.0)],
        ignore_index=True,
    )
    src = tmp_path / "p.parquet"
    df.to_parquet(src)
    out = tmp_path / "o.parquet"
    argv = ["attribute", "--paths", str(src), "--model", model, "--out", str(out)]
    assert main([*argv, "--segment-col", "seg"]) == 0
    res = pd.read_parquet(out)
    assert res.groupby("seg")["conversions"].sum().to_dict() == pytest.approx({"x": 4, "y": 4})


def test_cli_bad_file_exits_2_with_one_line(tmp_path, capsys) -> None:
    src = tmp_path / "p.csv"
    src.write_text("path,total_conversions\nemail > sms,1\nsms,-3\n")
    out = tmp_path / "o.csv"
    assert main(["attribute", "--paths", str(src), "--model", "last", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "total_conversions" in err and "line 3" in err and "\n" not in err
    assert not out.exists()
