"""Property tests of generated worlds over seeds and small sizes (hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.schema import load_world
from workbench.synth import Scenario, generate_world, load_scenario
from workbench.truth import load_truth

_TINY = load_scenario("tiny")


def _world(seed: int, n: int, days: int):
    sc = Scenario(**{**_TINY.__dict__, "n_subscribers": n, "days": days})
    with tempfile.TemporaryDirectory() as tmp:
        out = generate_world(sc, seed=seed, out=Path(tmp) / "w")
        return load_world(out), load_truth(out)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(200, 500), days=st.integers(42, 70))
def test_world_invariants(seed: int, n: int, days: int) -> None:
    w, truth = _world(seed, n, days)
    subs = w["subscribers"].set_index("subscriber_id")
    ev = w["email_events"].join(subs, on="subscriber_id")
    tp = w["touchpoints"].join(subs, on="subscriber_id")

    # consent is a hard invariant
    sent = ev[ev.event_type == "sent"]
    assert sent["email_consent"].all()
    assert tp.loc[tp.channel == "sms", "sms_consent"].all()
    assert tp.loc[tp.channel.isin(["push", "in_app"]), "push_consent"].all()
    # nothing sent after unsubscribing; unsubscribe events set unsubscribed_ts
    late = sent["unsubscribed_ts"].notna() & (sent["ts"] > sent["unsubscribed_ts"])
    assert not late.any()
    unsub = ev[ev.event_type.isin(["unsubscribed", "complained"])]
    first = unsub.groupby("subscriber_id")["ts"].min()
    assert (subs.loc[first.index, "unsubscribed_ts"] == first).all()
    assert subs["unsubscribed_ts"].notna().sum() == first.size
    # nothing sent before signup
    assert (sent["ts"] >= sent["signup_ts"]).all()
    # cadence-test broadcasts only reach consenting participants of the test
    exps = w["experiments"]
    cad = exps.loc[exps.kind == "cadence_test", "experiment_id"]
    camps = w["campaigns"]
    extra = camps.loc[camps.experiment_id.isin(cad), "campaign_id"]
    asg = w["assignments"]
    part = asg.loc[asg.experiment_id.isin(cad), "subscriber_id"]
    got = sent[sent.campaign_id.isin(extra)]
    assert got["subscriber_id"].isin(part).all() and got["email_consent"].all()

    # per subscriber and campaign: sent < delivered < opened; clicks after a human open
    key = ["subscriber_id", "campaign_id"]
    t = ev.pivot_table(index=key, columns="event_type", values="ts", aggfunc="min")
    if "delivered" in t:
        d = t["delivered"].notna()
        assert (t.loc[d, "delivered"] > t.loc[d, "sent"]).all()
    human = ev[(ev.event_type == "opened") & ~ev.is_machine_open].groupby(key)["ts"].min()
    machine = ev[(ev.event_type == "opened") & ev.is_machine_open].groupby(key)["ts"].min()
    for opens in (human, machine):
        assert (opens > t.loc[opens.index, "delivered"]).all()
    clicks = ev[ev.event_type == "clicked"].groupby(key)["ts"].min()
    assert clicks.index.isin(human.index).all()
    assert (clicks > human.loc[clicks.index]).all()
    # a bounced broadcast is not delivered (flow messages repeat, so look at broadcasts only)
    if "bounced" in t and "delivered" in t:
        camps = w["campaigns"]
        once = camps.loc[camps.kind == "broadcast", "campaign_id"]
        tb = t[t.index.get_level_values("campaign_id").isin(once)]
        assert not (tb["bounced"].notna() & tb["delivered"].notna()).any()

    # orders after signup
    o = w["orders"].join(subs, on="subscriber_id")
    assert (o["ts"] > o["signup_ts"]).all()

    # truth
    te = truth["truth_effects"]
    assert te["conversion_rate"].between(0, 1).all()
    assert (te["revenue_per_recipient"] >= 0).all()
    tc = truth["truth_channels"]
    assert (tc["conversions_without"] <= tc["conversions"]).all()
    assert np.all(tc["incremental_revenue"] >= -1e-6)
