"""Segmentation: pipelines, min-size guard, stability, profiles, rules, drift, playbook, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features import AS_OF, feature_world

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.features import compute_features
from workbench.segment import Segmenter, best_k, segment_subscribers, select_k
from workbench.segment.drift import (
    category_psi,
    feature_psi,
    flag_transitions,
    psi,
    transition_matrix,
)
from workbench.segment.evaluate import agreement, confusion, purity
from workbench.segment.playbook import (
    cadence_curve,
    cadence_evidence,
    cadence_test_curve,
    fatigue_cadence,
    playbook,
    sentences,
)
from workbench.segment.profiles import attribute_profile, name_segments, outcomes, profile
from workbench.segment.rules import (
    LIFECYCLE_STAGES,
    evaluate_rule,
    lifecycle_stage,
    rfm_scores,
    rule_segments,
)
from workbench.segment.stability import bootstrap_stability

COLUMNS = [
    "open_rate",
    "click_rate",
    "morning_open_share",
    "evening_open_share",
    "n_orders",
    "revenue",
]


def blob_features(sizes=(300, 200, 150), seed=0) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature-like table with well-separated groups: morning clickers, evening buyers, ..."""
    rng = np.random.default_rng(seed)
    centres = np.array(
        [
            [0.6, 0.3, 0.8, 0.05, 0.0, 0.0],
            [0.3, 0.05, 0.05, 0.8, 6.0, 400.0],
            [0.05, 0.01, 0.3, 0.3, 1.0, 30.0],
        ]
    )
    truth = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[truth] * rng.lognormal(0, 0.1, size=(len(truth), centres.shape[1]))
    f = pd.DataFrame(
        x, columns=COLUMNS, index=pd.Index(np.arange(1, len(truth) + 1) * 7, name="subscriber_id")
    )
    f["n_orders"] = np.rint(f["n_orders"])
    f["days_since_last_order"] = rng.uniform(1, 200, len(f))
    f["tenure_days"] = rng.uniform(10, 700, len(f))
    f["days_since_last_open"] = rng.uniform(1, 100, len(f))
    f["is_unsubscribed"] = 0
    return f, truth


NOISY_COLUMNS = ["open_rate", "click_rate", "morning_open_share", "orders_per_30d"]


def noisy_groups(seed: int = 0, sizes=(900, 450, 150)) -> tuple[pd.DataFrame, np.ndarray]:
    """Three overlapping groups of unequal size, seen through rates over few or many emails.

    Each subscriber's true open, click and morning-open propensities scatter around their
    group's; the observed rates are binomial over 1 to 59 emails (and over the opens for the
    morning share), so a rate measured on two emails is mostly noise: the case the deconvolving
    mixture exists for. Orders per 30 days are exact but lognormal within a group.
    """
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    n_subs = len(truth)
    p_open = np.array([0.40, 0.25, 0.12])[truth] + rng.normal(0, 0.05, n_subs)
    p_click = np.array([0.06, 0.03, 0.015])[truth] * rng.lognormal(0, 0.3, n_subs)
    p_morning = np.array([0.65, 0.35, 0.5])[truth] + rng.normal(0, 0.08, n_subs)
    orders = np.array([0.3, 0.8, 0.15])[truth] * rng.lognormal(0, 0.5, n_subs)
    emails = rng.integers(1, 60, n_subs)
    opens = rng.binomial(emails, np.clip(p_open, 0.01, 0.99))
    clicks = rng.binomial(emails, np.clip(p_click, 0.001, 0.5))
    morning = rng.binomial(opens, np.clip(p_morning, 0.01, 0.99))
    f = pd.DataFrame(
        {
            "open_rate": opens / emails,
            "click_rate": clicks / emails,
            "morning_open_share": np.where(opens > 0, morning / np.maximum(opens, 1), 0.0),
            "orders_per_30d": orders,
            "emails_delivered": emails,
            "n_opens": opens,
        },
        index=pd.Index(np.arange(1, n_subs + 1) * 3, name="subscriber_id"),
    )
    return f, truth


#: Floors from a sweep over 19 fresh seeds (1001-1003, 2000-2015) of ``noisy_groups``, k = 3,
#: min_size = 20. ARI min / median / max: deconvolved 0.647 / 0.692 / 0.742, kmeans 0.393 /
#: 0.466 / 0.564, gmm 0.444 / 0.635 / 0.719. Deconvolved minus kmeans on one seed: at least
#: 0.142; deconvolved minus gmm: at least 0.012 on one seed, 0.032 averaged over 3 seeds.
DECONV_FLOOR = 0.55
KMEANS_GAP = 0.07
GMM_GAP = 0.0


def test_the_deconvolving_mixture_beats_the_others_on_noisy_rates():
    """On overlapping groups of unequal size seen through unevenly measured rates, the
    noise-aware mixture finds the groups best (floors and gaps above, from a seed sweep)."""
    ari = {m: [] for m in ("deconvolved", "kmeans", "gmm")}
    for seed in (2000, 2001, 2002):
        f, truth = noisy_groups(seed)
        for method, scores in ari.items():
            seg = Segmenter(
                method, n_clusters=3, min_size=20, columns=NOISY_COLUMNS, random_state=seed
            ).fit(f)
            assert seg.inputs_ == [*NOISY_COLUMNS, "emails_delivered", "n_opens"]
            labels = pd.Series(seg.labels_, f.index)
            scores.append(agreement(labels, pd.Series(truth, f.index))["ari"])
        # every seed: the noise-aware model clears its floor and beats k-means clearly
        assert ari["deconvolved"][-1] > DECONV_FLOOR
        assert ari["deconvolved"][-1] > ari["kmeans"][-1] + KMEANS_GAP
    # on average it also beats the Gaussian mixture on the shrunk values
    assert np.mean(ari["deconvolved"]) > np.mean(ari["gmm"]) + GMM_GAP


@pytest.mark.parametrize("method", ["deconvolved", "kmeans", "gmm", "agglomerative", "hdbscan"])
def test_methods_recover_separated_groups(method):
    """Plumbing on well-separated groups (every method finds them; quality is tested above)."""
    f, truth = blob_features()
    seg = Segmenter(method, n_clusters=3, min_size=20, columns=COLUMNS, random_state=1).fit(f)
    assert agreement(pd.Series(seg.labels_, f.index), pd.Series(truth, f.index))["ari"] > 0.9
    # bulk assignment agrees with the fit and numbers segments by size
    assert (seg.predict(f) == seg.labels_).all()
    assert list(seg.sizes_) == sorted(seg.sizes_, reverse=True)


def test_deconvolved_segmenter_models_text_attributes():
    """Attributes sharpen groups the numbers only half separate; other methods ignore them."""
    f, truth = blob_features((600, 600, 600), seed=2)
    rng = np.random.default_rng(2)
    f["channel"] = pd.Series(
        np.where(rng.random(len(f)) < 0.85, np.array(["ads", "search", "store"])[truth], "other"),
        index=f.index,
        dtype="str",
    )
    blurred = f.copy()
    blurred[COLUMNS] = blurred[COLUMNS] * rng.lognormal(0, 0.9, size=(len(f), len(COLUMNS)))
    kw = {"n_clusters": 3, "min_size": 20, "columns": COLUMNS, "random_state": 1}
    with_attr = Segmenter("deconvolved", **kw).fit(blurred)
    without = Segmenter("deconvolved", attributes=[], **kw).fit(blurred)
    assert with_attr.attributes_ == ["channel"] and without.attributes_ == []
    assert with_attr.levels_ == {"channel": ["ads", "other", "search", "store"]}
    t = pd.Series(truth, f.index)
    ari_with = agreement(pd.Series(with_attr.labels_, f.index), t)["ari"]
    ari_without = agreement(pd.Series(without.labels_, f.index), t)["ari"]
    assert ari_with > ari_without + 0.1
    assert Segmenter("kmeans", **kw).fit(blurred).attributes_ == []
    # an unseen level is assigned by the numbers (no error)
    new = blurred.assign(channel="partner")
    assert len(with_attr.predict(new)) == len(f)
    with pytest.raises(WorkbenchError, match="not found"):
        Segmenter("deconvolved", attributes=["source"], **kw).fit(blurred)


def test_fit_on_sample_assigns_everyone_deterministically():
    f, truth = blob_features((3000, 2000, 1000))
    a = Segmenter("kmeans", 3, columns=COLUMNS, sample_size=500, random_state=3).fit(f)
    b = Segmenter("kmeans", 3, columns=COLUMNS, sample_size=500, random_state=3).fit(f)
    assert len(a.labels_) == len(f)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(f.iloc[::-1]), a.labels_[::-1])
    assert agreement(pd.Series(a.labels_, f.index), pd.Series(truth, f.index))["ari"] > 0.9


def test_min_size_guard_merges_and_reports():
    f, _ = blob_features((300, 200, 30))
    seg = Segmenter("kmeans", 3, min_size=50, columns=COLUMNS, random_state=0).fit(f)
    assert seg.n_segments_ == 2 and seg.sizes_.min() >= 50
    assert len(seg.merges_) == 1 and seg.merges_[0]["size"] == 30
    with pytest.raises(WorkbenchError, match="smaller than min_size=50"):
        Segmenter("kmeans", 3, min_size=50, on_small="error", columns=COLUMNS).fit(f)
    # never fewer than one segment, whatever the min size
    assert Segmenter("kmeans", 3, min_size=10_000, columns=COLUMNS).fit(f).n_segments_ == 1


@settings(max_examples=15, deadline=None)
@given(k=st.integers(2, 8), min_size=st.integers(1, 200), seed=st.integers(0, 100))
def test_no_exported_segment_below_min_size(k, min_size, seed):
    f, _ = blob_features((120, 60, 25), seed=seed)
    seg = Segmenter("kmeans", k, min_size=min_size, columns=COLUMNS, random_state=seed).fit(f)
    sizes = np.bincount(seg.labels_)
    assert sizes.sum() == len(f)
    assert (sizes >= min_size).all() or seg.n_segments_ == 1
    assert set(np.unique(seg.labels_)) == set(range(seg.n_segments_))


def test_unreachable_rule_segment():
    """Subscribers who cannot be emailed get one rule segment; the rest are clustered."""
    f, truth = blob_features((300, 200, 150))
    rng = np.random.default_rng(0)
    f["email_reachable"] = (rng.random(len(f)) > 0.2).astype(int)
    unreachable = f["email_reachable"].to_numpy() == 0
    res = segment_subscribers(f, k=3, min_size=20, seed=0, unreachable="rule")
    seg = res.segmenter
    assert seg.n_segments_ == 4 and seg.rule_segment_ is not None
    assert (seg.labels_[unreachable] == seg.rule_segment_).all()
    assert not (seg.labels_[~unreachable] == seg.rule_segment_).any()
    assert res.names[seg.rule_segment_] == "not reachable by email"
    reach = pd.Series(truth, f.index)[~unreachable]
    assert agreement(res.segments[~unreachable], reach)["ari"] > 0.9
    np.testing.assert_array_equal(seg.predict(f), seg.labels_)
    assert len(res.table()) == len(f)  # every subscriber keeps one row
    # too few unreachable subscribers: merged into the nearest segment and reported
    few = f.assign(email_reachable=np.r_[np.zeros(5, int), np.ones(len(f) - 5, int)])
    small = Segmenter("kmeans", 3, min_size=20, random_state=0, unreachable="rule").fit(few)
    assert small.rule_segment_ is None and small.n_segments_ == 3
    assert [m["size"] for m in small.merges_] == [5]
    # the rule needs its column
    with pytest.raises(WorkbenchError, match="email_reachable"):
        Segmenter("kmeans", 3, unreachable="rule").fit(f.drop(columns="email_reachable"))
    with pytest.raises(WorkbenchError, match="unreachable must be"):
        Segmenter("kmeans", 3, unreachable="drop").fit(f)


def test_names_use_phrases_not_counts():
    f, truth = blob_features()
    f["n_opens"] = np.where(truth == 0, 40, 1)  # a count that differs a lot between segments
    f["open_share_deals"] = np.where(truth == 2, 0.9, 0.1)
    f["click_share_deals"] = np.where(truth == 2, 0.8, 0.1)
    names = name_segments(f, pd.Series(truth, index=f.index))
    assert not any("n opens" in n or "open share" in n for n in names.values())
    assert names[2].count("deals content") == 1  # one content family, said once


def test_bad_parameters():
    f, _ = blob_features()
    with pytest.raises(WorkbenchError, match="unknown method"):
        Segmenter("dbscan").fit(f)
    with pytest.raises(WorkbenchError, match="not found"):
        Segmenter(columns=["nope"]).fit(f)
    with pytest.raises(WorkbenchError, match="'auto'"):
        segment_subscribers(f, k="many")


def test_select_k_and_auto():
    f, _ = blob_features()
    scores = select_k(f, range(2, 6), columns=COLUMNS, seed=0)
    assert list(scores["k"]) == [2, 3, 4, 5]
    assert scores.loc[scores["silhouette"].idxmax(), "k"] == 3
    gmm = select_k(f, range(2, 5), method="gmm", columns=COLUMNS)
    assert "bic" in gmm.columns and gmm["bic"].notna().all()
    # ICL is BIC plus twice the entropy of the assignments: never below it, and it chooses k
    assert (gmm["icl"] >= gmm["bic"] - 1e-6).all()
    table = pd.DataFrame({"k": [2, 3, 4], "bic": [5.0, 4.0, 3.0], "icl": [6.0, 4.5, 7.0]})
    assert best_k(table) == 3
    assert best_k(table.drop(columns="icl")) == 4
    res = segment_subscribers(f[COLUMNS], k="auto", ks=range(2, 6), min_size=20)
    assert res.segmenter.n_segments_ == 3
    out = res.table()
    assert list(out.columns) == ["subscriber_id", "segment", "segment_name"]
    assert out["segment_name"].notna().all()


def test_stability_high_for_real_groups():
    f, _ = blob_features()
    st_ = bootstrap_stability(Segmenter("kmeans", 3, columns=COLUMNS), f, n_boot=4, seed=0)
    assert st_.mean_ari > 0.95 and len(st_.ari) == 4
    assert (st_.per_segment["jaccard"] > 0.9).all()
    assert st_.per_segment["size"].sum() == len(f)


def test_profiles_and_names():
    f, truth = blob_features()
    labels = pd.Series(truth, index=f.index)
    prof = profile(f, labels)
    assert prof.loc[1, "revenue"] > prof.loc["all", "revenue"] > prof.loc[0, "revenue"]
    assert prof["size"].iloc[:-1].sum() == len(f)
    names = name_segments(f[COLUMNS], labels)
    assert "morning readers" in names[0] and "high spend" in names[1]
    assert len(set(names.values())) == 3


def test_attribute_profile_lists_the_most_over_represented_level():
    levels = ["ads"] * 6 + ["store"] * 2 + [None] * 2 + ["ads"] * 2 + [None] * 8
    f = pd.DataFrame({"source": pd.Series(levels, dtype="str"), "open_rate": 0.5})
    seg = pd.Series([0] * 10 + [1] * 10, index=f.index)
    got = attribute_profile(f, seg).set_index("segment")
    # segment 0: ads 60% (base 40%, lift 1.5) but store 20% (base 10%, lift 2): store
    assert got.loc[0, "level"] == "store" and got.loc[0, "share"] == pytest.approx(0.2)
    assert got.loc[0, "base_share"] == pytest.approx(0.1) and got.loc[0, "lift"] == 2.0
    assert got.loc[1, "level"] == "(missing)" and got.loc[1, "lift"] == pytest.approx(1.6)
    assert list(got["attribute"].unique()) == ["source"]  # numeric columns are not attributes


def test_evaluation_tables():
    seg = pd.Series([0, 0, 1, 1, 1], index=[1, 2, 3, 4, 5])
    truth = pd.Series(["a", "a", "b", "b", "a"], index=[5, 1, 2, 3, 4])
    assert agreement(seg, seg.map({0: "x", 1: "y"}))["ari"] == 1.0
    c = confusion(seg, truth, normalize=False)
    assert c.loc["a", 0] == 1 and c.loc["a", 1] == 2 and c.to_numpy().sum() == 5
    p = purity(seg, truth)
    assert p.loc[p["segment"] == 1, "purity"].item() == pytest.approx(2 / 3)


def test_rfm_grid_and_lifecycle():
    f = pd.DataFrame(
        {
            "n_orders": [10, 9, 1, 0, 8, 1],
            "revenue": [900.0, 800.0, 20.0, 0.0, 700.0, 10.0],
            "days_since_last_order": [2.0, 5.0, 3.0, 40.0, 300.0, 400.0],
            "days_since_last_open": [1.0, 2.0, 3.0, 50.0, 200.0, 20.0],
            "open_rate": [0.5, 0.4, 0.3, 0.2, 0.0, 0.1],
            "tenure_days": [400.0, 400.0, 10.0, 100.0, 500.0, 500.0],
            "is_unsubscribed": [0, 0, 0, 0, 0, 1],
        },
        index=pd.Index([1, 2, 3, 4, 5, 6], name="subscriber_id"),
    )
    rfm = rfm_scores(f)
    assert rfm.loc[1, "rfm_segment"] == "champions"
    assert rfm.loc[4, "rfm_segment"] == "prospects"
    assert rfm.loc[5, "rfm_segment"] in ("at risk", "can't lose them")
    assert rfm.loc[6, "rfm_segment"] == "lost"
    stage = lifecycle_stage(f)
    assert list(stage) == [
        "active buyer",
        "active buyer",
        "new",
        "lapsing",
        "dormant",
        "unsubscribed",
    ]
    assert list(stage.cat.categories) == list(LIFECYCLE_STAGES)


def test_user_rules():
    f, _ = blob_features()
    s = rule_segments(
        f, {"buyers": "n_orders >= 3 and revenue > 100", "morning": "0.5 < morning_open_share <= 1"}
    )
    assert set(s.unique()) <= {"buyers", "morning", "other"}
    assert (s == "buyers").sum() == ((f["n_orders"] >= 3) & (f["revenue"] > 100)).sum()
    assert evaluate_rule("not (open_rate > 0.2) or click_rate * 2 > 0.5", f).dtype == bool
    # text attributes of the feature table compare with quoted levels
    f["region"] = pd.Series(np.where(f["n_orders"] > 2, "north", "south"), f.index, dtype="str")
    north = evaluate_rule('region == "north" and n_orders > 0', f)
    assert (north == (f["n_orders"] > 2)).all()


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("open_rate >", "not a valid expression"),
        ("opn_rate > 0.2", "unknown feature 'opn_rate' (did you mean 'open_rate'?)"),
        ("__import__('os').system('true')", "not allowed"),
        ("open_rate.__class__", "not allowed"),
        ("open_rate + 1", "true/false per subscriber"),
        ("open_rate in [1, 2]", "not allowed"),
        ("", "empty expression"),
    ],
)
def test_rule_errors_name_the_rule(expr, message):
    f, _ = blob_features()
    with pytest.raises(WorkbenchError) as info:
        rule_segments(f, {"vip": "n_orders > 5", "broken": expr})
    assert "rule 'broken'" in str(info.value) and message in str(info.value)


def test_psi_and_transitions():
    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    assert psi(a, rng.normal(size=5000)) < 0.02
    assert psi(a, rng.normal(1.0, size=5000)) > 0.25
    ref = pd.DataFrame({"x": a, "flag": (a > 0).astype(float)})
    cur = pd.DataFrame({"x": a + 1.0, "flag": (a > 0).astype(float)})
    table = feature_psi(ref, cur)
    assert table.iloc[0]["feature"] == "x" and table.iloc[0]["flagged"]
    assert not table.set_index("feature").loc["flag", "flagged"]
    # text columns are compared level by level (a missing value is a level of its own)
    levels = pd.Series(rng.choice(["north", "south", None], 5000), dtype="str")
    assert category_psi(levels, levels.sample(frac=1, random_state=0)) == 0.0
    moved = levels.where(levels != "south", "east")
    table = feature_psi(ref.assign(region=levels), cur.assign(region=moved)).set_index("feature")
    assert table.loc["region", "psi"] == pytest.approx(category_psi(levels, moved))
    assert table.loc["region", "flagged"]
    before = pd.Series([0, 0, 0, 1, 1], index=[1, 2, 3, 4, 5])
    after = pd.Series([0, 0, 1, 1, 1, 0], index=[1, 2, 3, 4, 5, 6])
    m = transition_matrix(before, after)
    assert m.loc[0, 0] == pytest.approx(2 / 3) and m.loc[1, 1] == 1.0
    flags = flag_transitions(m, threshold=0.3)
    assert flags["flagged"].tolist() == [True, False]


def test_outcomes_playbook_on_a_world(tmp_path):
    root = feature_world(tmp_path / "w")
    f = compute_features(root, as_of=AS_OF)
    seg = pd.Series([0, 1, 1], index=f.index)
    out = outcomes(root, seg, end=AS_OF)
    assert out.loc["0", "conversion_rate"] == 1.0 and out.loc["1", "conversion_rate"] == 0.5
    assert out.loc["0", "revenue_per_subscriber"] == pytest.approx(54.5)
    assert out.loc["1", "revenue_per_subscriber"] == pytest.approx(6.0)
    full = outcomes(root, seg)  # the order after the as-of date counts here
    assert full.loc["0", "repeat_purchase_rate"] == 1.0 and full.loc["0", "cross_sell_rate"] == 1.0
    curve = cadence_curve(root, seg, as_of=AS_OF)
    assert set(curve.columns) >= {"segment", "emails_per_week", "open_rate"}
    # this small world has no experiments table: the playbook falls back to observed volumes
    fallback, source = cadence_evidence(root, seg, as_of=AS_OF)
    assert source == "observed volumes" and fallback.equals(curve)
    cad = fatigue_cadence(curve, min_emails=1)
    book = playbook(f, seg, names={0: "zero", 1: "one"}, cadence=cad)
    assert list(book["segment"]) == [0, 1] and book.loc[0, "send_hour"] == 10
    assert book.loc[0, "channels"] == "email + sms"
    text = sentences(book)
    assert text[0].startswith("Segment 0") and "10:00 local time" in text[0]


def test_fatigue_cadence_stops_at_the_drop():
    curve = pd.DataFrame(
        {
            "segment": ["a"] * 5,
            "emails_per_week": [1, 2, 3, 4, 5],
            "emails": [100] * 5,
            "open_rate": [0.30, 0.31, 0.29, 0.20, 0.30],
        }
    )
    assert fatigue_cadence(curve).loc["a"] == 3
    # volumes resting on too few emails are ignored
    thin = curve.assign(emails=[100, 100, 100, 5, 100])
    assert fatigue_cadence(thin).loc["a"] == 5
    # a cadence-test curve's rates rest on the shared broadcasts, not on every email
    shared = curve.assign(shared_emails=[100, 100, 100, 5, 100], emails=1000)
    assert fatigue_cadence(shared).loc["a"] == 5
    # a segment without any supported volume is left out: the playbook uses observed volume
    assert fatigue_cadence(curve.assign(emails=5)).empty


def test_cadence_curve_counts_per_email_like_explore():
    """The DuckDB curve has the definition of explore.engagement_by_cadence (per email)."""
    from workbench import paths
    from workbench.explore import engagement_by_cadence
    from workbench.schema import load_world

    world = load_world(paths.sample_world(), tables=["subscribers", "campaigns", "email_events"])
    ids = world["subscribers"]["subscriber_id"]
    seg = pd.Series((ids % 3).to_numpy(), index=ids.to_numpy())
    ours = cadence_curve(paths.sample_world(), seg, as_of=pd.Timestamp("2100-01-01", tz="UTC"))
    ref = engagement_by_cadence(world, seg)
    ref["segment"] = ref["group"].astype(str)
    both = ours.merge(ref, on=["segment", "emails_per_week"], suffixes=("", "_ref"))
    assert len(both) == len(ours) == len(ref)
    # same-instant deliveries are the only possible difference: a handful of emails at most
    assert (both["emails"] - both["emails_ref"]).abs().sum() <= 0.01 * both["emails"].sum()
    np.testing.assert_allclose(both["open_rate"], both["open_rate_ref"], atol=0.01)
    np.testing.assert_allclose(both["unsubscribe_rate"], both["unsubscribe_rate_ref"], atol=0.01)


def test_cadence_test_curve_compares_randomised_arms_on_shared_emails():
    """Per arm: measured volume, and the open rate of the emails every arm received (pandas)."""
    from workbench import paths
    from workbench.schema import load_world

    world = load_world(
        paths.sample_world(),
        tables=["subscribers", "campaigns", "email_events", "experiments", "assignments"],
    )
    exp = world["experiments"].query("kind == 'cadence_test'").iloc[-1]
    ids = world["subscribers"]["subscriber_id"]
    seg = pd.Series((ids % 2).to_numpy(), index=ids.to_numpy())
    curve = cadence_test_curve(paths.sample_world(), seg)
    arms = exp["arms"].split("|")
    assert set(curve["arm"]) == set(arms) and set(curve["segment"]) == {"0", "1"}
    # independent pandas computation for segment 0
    start = exp["start_ts"]
    end = start + pd.Timedelta(days=int(exp["conversion_window_days"]))
    asg = world["assignments"].query("experiment_id == @exp.experiment_id")
    asg = asg.set_index("subscriber_id")["arm"]
    ev = world["email_events"]
    ev = ev[ev["subscriber_id"].isin(asg.index)]
    dl = ev[(ev["event_type"] == "delivered") & (ev["ts"] >= start) & (ev["ts"] < end)]
    dl = dl[["subscriber_id", "campaign_id"]].drop_duplicates()
    dl["arm"] = dl["subscriber_id"].map(asg)
    camp = world["campaigns"]
    settled = (camp["kind"] == "broadcast") & (camp["sent_ts"] >= start + pd.Timedelta(days=7))
    broadcasts = camp.loc[settled, "campaign_id"]  # after the default one-week burn-in
    shared = dl[dl["campaign_id"].isin(broadcasts)].groupby("campaign_id")["arm"].nunique()
    shared = set(shared[shared == asg.nunique()].index)  # over every assigned subscriber
    dl = dl[dl["subscriber_id"] % 2 == 0]
    human = ev[(ev["event_type"] == "opened") & ~ev["is_machine_open"].astype(bool)]
    opened = set(zip(human["subscriber_id"], human["campaign_id"], strict=True))
    weeks = int(exp["conversion_window_days"]) / 7
    for arm, part in dl.groupby("arm"):
        row = curve[(curve["segment"] == "0") & (curve["arm"] == arm)].iloc[0]
        assert row["emails"] == len(part) and row["subscribers"] == part["subscriber_id"].nunique()
        per_week = len(part) / part["subscriber_id"].nunique() / weeks
        assert row["emails_per_week"] == pytest.approx(per_week, abs=0.005)
        common = part[part["campaign_id"].isin(shared)]
        pairs = zip(common["subscriber_id"], common["campaign_id"], strict=True)
        hits = sum(pair in opened for pair in pairs)
        assert row["open_rate"] == pytest.approx(hits / len(common))
    # busier arms really received more email
    vol = curve[curve["segment"] == "0"].set_index("arm")["emails_per_week"]
    by_name = sorted(arms, key=lambda a: int(a.split("_")[0]))
    assert list(vol[by_name]) == sorted(vol[by_name])
    # a world without a cadence test gives an empty table, not an error
    assert cadence_test_curve(paths.sample_world(), seg, experiment_id=10**6).empty


def test_cli_writes_one_row_per_subscriber(tmp_path, capsys):
    root = feature_world(tmp_path / "w")
    out = tmp_path / "seg.csv"
    rc = main(
        [
            "segment",
            "--world",
            str(root),
            "--k",
            "2",
            "--min-size",
            "1",
            "--out",
            str(out),
            "--as-of",
            AS_OF,
        ]
    )
    assert rc == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["subscriber_id", "segment", "segment_name"]
    assert sorted(table["subscriber_id"]) == [1, 2, 3]
    # everyone here can be emailed: the rule leaves the learned segments alone
    rule_out = tmp_path / "rule.parquet"
    args = ["segment", "--world", str(root), "--k", "2", "--min-size", "1", "--as-of", AS_OF]
    assert main([*args, "--unreachable", "rule", "--out", str(rule_out)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(rule_out), table)
    rc = main(
        [
            "segment",
            "--world",
            str(root),
            "--k",
            "2",
            "--out",
            str(tmp_path / "x.csv"),
            "--on-small",
            "error",
        ]
    )
    assert rc == 2 and "min_size=50" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    rc = main(["segment", "--world", str(tmp_path / "nowhere"), "--out", str(out)])
    assert rc == 2


def test_cli_offers_the_package_methods_without_loading_scikit_learn():
    """``workbench --help`` builds every verb's options from :data:`workbench.segment.METHODS`
    (:mod:`workbench.segment.methods`) without importing the clustering stack."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom workbench.cli import build_parser\nbuild_parser()\n"
        "heavy = [m for m in ('sklearn', 'pandas') if m in sys.modules]\nassert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ empirical-Bayes scaling


def _binomial_rates(n_subs=20_000, tau=0.1, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = np.clip(rng.normal(0.3, tau, n_subs), 0.01, 0.99)
    n = rng.integers(0, 40, n_subs)
    k = rng.binomial(n, p)
    rate = np.where(n > 0, k / np.maximum(n, 1), 0.0)
    return pd.DataFrame({"open_rate": rate, "emails_delivered": n, "revenue": p * 100})


def test_empirical_bayes_scaler_recovers_spread_and_shrinks_by_evidence():
    from workbench.segment.pipelines import EmpiricalBayesScaler

    x = _binomial_rates()
    sc = EmpiricalBayesScaler({"open_rate": "emails_delivered"}).fit(x)
    assert sc.columns_ == ["open_rate", "revenue"]  # the count is an input only
    assert sc.mean_[0] == pytest.approx(0.3, abs=0.01)
    assert sc.scale_[0] == pytest.approx(0.1, rel=0.1)  # true spread, not the noisy total
    assert sc.noise_[0] == pytest.approx(0.3 * 0.7 - 0.01, rel=0.1)
    z = sc.transform(x)
    assert np.all(z[x["emails_delivered"].to_numpy() == 0, 0] == 0)  # no evidence: the base
    # the same observed rate counts for more when measured on more emails
    two = pd.DataFrame({"open_rate": [0.8, 0.8], "emails_delivered": [2, 30], "revenue": 1.0})
    z2 = sc.transform(two)[:, 0]
    assert 0 < z2[0] < z2[1]
    # columns without a count are standardised
    assert z[:, 1].mean() == pytest.approx(0, abs=1e-9) and z[:, 1].std() == pytest.approx(1)
    # pure noise (every subscriber the same true rate) carries ~no weight after scaling
    flat = _binomial_rates(tau=0.0, seed=1)
    zf = EmpiricalBayesScaler({"open_rate": "emails_delivered"}).fit_transform(flat)
    assert zf[:, 0].std() < 0.2 * z[:, 0].std()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(0, 1), st.just(float("nan"))),
            st.integers(0, 50),
            st.floats(-1e3, 1e3),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_empirical_bayes_scaler_always_finite(rows):
    from workbench.segment.pipelines import EmpiricalBayesScaler

    x = pd.DataFrame(rows, columns=["click_rate", "emails_delivered", "revenue"])
    z = EmpiricalBayesScaler({"click_rate": "emails_delivered"}).fit_transform(x)
    assert z.shape == (len(x), 2) and np.isfinite(z).all()


def test_segmenter_reads_counts_behind_rates():
    f, truth = blob_features()
    f["emails_delivered"] = 30
    seg = Segmenter("kmeans", n_clusters=3, min_size=20, columns=COLUMNS, random_state=1).fit(f)
    assert seg.inputs_ == [*COLUMNS, "emails_delivered"]
    assert seg.transform(f).shape == (len(f), len(COLUMNS))
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, seg.labels_) > 0.95
