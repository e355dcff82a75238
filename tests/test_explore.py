"""Descriptive summaries on a hand-made world whose answers are known."""

from __future__ import annotations

import pandas as pd
import pytest
from test_schema import small_tables, write_world

from workbench import explore, plots
from workbench.schema import load_world


@pytest.fixture
def world(tmp_path):
    tables = small_tables()
    ev = tables["email_events"]
    machine = ev.iloc[[2]].assign(is_machine_open=True, ts=ev["ts"].iloc[1])
    tables["email_events"] = pd.concat([ev, machine], ignore_index=True)
    return load_world(write_world(tmp_path / "w", tables))


def test_human_opens_drop_machine_opens_and_use_local_time(world):
    opens = explore.human_opens(world)
    assert len(opens) == 1  # the machine open is gone
    # subscriber 1 is at UTC+1 and opened at 09:00 UTC
    assert opens["local_hour"].tolist() == [10]
    table = explore.opens_by_local_hour(world)
    assert table.shape == (24, 1) and table.loc[10, "all"] == 1.0


def test_groups_and_purchases(world):
    group = pd.Series({1: "a", 2: "b", 3: "a"})
    sizes = explore.group_sizes(world, group).set_index("group")
    assert sizes.loc["a", "subscribers"] == 2 and sizes.loc["b", "share"] == pytest.approx(1 / 3)
    p = explore.purchase_summary(world, group).set_index("group")
    assert p.loc["a", "orders"] == 2 and p.loc["b", "orders"] == 0
    assert p.loc["a", "revenue_per_subscriber"] == pytest.approx(66.5 / 2)


def test_consent_and_cadence(world):
    c = explore.consent_rates(world)
    assert c.loc["all", "sms"] == pytest.approx(1 / 3)
    assert c.loc["all", "still_subscribed"] == pytest.approx(2 / 3)
    cad = explore.engagement_by_cadence(world)
    assert cad[["emails_per_week", "emails", "open_rate"]].values.tolist() == [[1, 1, 1]]


def test_funnel_separates_machine_opens(world):
    f = explore.funnel(world).set_index("event")["count"]
    assert f["opened (people)"] == 1 and f["opened (machines)"] == 1 and f["sent"] == 2


def test_plots_return_labelled_figures(world):
    fig = plots.share_bars(explore.group_sizes(world), title="Persona mix")
    assert fig.axes[0].get_title() == "Persona mix"
    fig = plots.heatmap(explore.consent_rates(world), title="Consent")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][0] == "email"
    fig = plots.lines_by_group(
        explore.engagement_by_cadence(world), "emails_per_week", ["open_rate", "unsubscribe_rate"]
    )
    assert len(fig.axes) == 2
    fig = plots.distributions(explore.order_values(world), "revenue")
    assert fig.axes[0].get_xscale() == "log"


def test_trailing_window_counts_recent_emails_per_subscriber(world):
    tables = world.tables
    ev = tables["email_events"]
    base = ev.iloc[[1]]  # subscriber 1, delivered
    days = [0, 2, 4, 12]  # the fourth email comes after a quiet week
    extra = pd.concat(
        [base.assign(campaign_id=10 + i, ts=base["ts"] + pd.Timedelta(days=d)) for i, d in
         enumerate(days)],
        ignore_index=True,
    )  # fmt: skip
    tables["email_events"] = extra
    tables["campaigns"] = pd.concat(
        [tables["campaigns"].iloc[[0]].assign(campaign_id=10 + i) for i in range(4)]
    )
    d = explore.delivered_emails(world)
    assert d["emails_in_window"].tolist() == [1, 2, 3, 1]


def test_lifecycle_summaries_take_a_transitions_table():
    day = pd.Timestamp("2025-01-06", tz="UTC")
    t = pd.DataFrame(
        {
            "subscriber_id": [1, 1, 2, 2, 1, 3],
            "ts": [day, day + pd.Timedelta(days=1), day, day + pd.Timedelta(days=9),
                   day + pd.Timedelta(days=10), day + pd.Timedelta(days=12)],
            "stage": ["new", "active", "new", "active", "lapsing", "new"],
        }
    )  # fmt: skip
    weeks = explore.lifecycle_by_week(t)
    # end of week 1: subscriber 1 active, 2 new; end of week 2: 1 lapsing, 2 active, 3 new
    assert weeks.iloc[0].to_dict() == {"new": 1, "active": 1, "lapsing": 0}
    assert weeks.iloc[1].to_dict() == {"new": 1, "active": 1, "lapsing": 1}
    moves = explore.lifecycle_transitions(t)
    assert moves.loc["new", "active"] == 2 and moves.loc["active", "lapsing"] == 1
    assert moves.to_numpy().sum() == 3


def test_heatmap_slants_long_column_names_only() -> None:
    import matplotlib.pyplot as plt

    long = pd.DataFrame([[0.1, 0.9]], columns=["evening readers · lifestyle", "deals · carts"])
    short = pd.DataFrame([[0.1, 0.9]], columns=["1", "2"])
    for table, angle in ((long, 35.0), (short, 0.0)):
        fig = plots.heatmap(table)
        labels = fig.axes[0].get_xticklabels()
        assert [t.get_rotation() for t in labels] == [angle, angle]
        plt.close(fig)


def test_show_displays_a_figure_once_and_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig = plots.heatmap(pd.DataFrame([[0.5]], columns=["a"]))
    plots.show(fig)
    assert shown == [fig] and not plt.fignum_exists(fig.number)


def test_weekly_activity_counts_the_history_weeks_from_the_tables_present(tmp_path):
    tables = small_tables()
    w = load_world(write_world(tmp_path / "all", tables))
    act = explore.weekly_activity(w)
    # events on Sat 10 Jan, orders on Sun 11 and Mon 12 Jan: the week of Mon 12 is covered
    # only in part, the signups (1-3 Jan) come before the history
    assert list(act.index) == [pd.Timestamp("2026-01-05")]
    week = act.iloc[0]
    assert (week["delivered"], week["human_opens"], week["orders"]) == (1, 1, 1)
    assert week["revenue"] == pytest.approx(54.5) and week["signups"] == 0
    only_orders = {k: v for k, v in tables.items() if k in ("subscribers", "orders")}
    act = explore.weekly_activity(load_world(write_world(tmp_path / "orders", only_orders)))
    assert list(act.columns) == ["signups", "unsubscribes", "orders", "revenue"]


def test_data_quality_finds_duplicates_bot_opens_and_who_was_never_emailed(world, tmp_path):
    audit = explore.data_quality(world).set_index("check")["value"]
    assert audit["duplicate email events"] == 0
    assert audit["machine opens (share of opens)"] == pytest.approx(0.5)
    assert audit["never emailed (share)"] == pytest.approx(1 / 3)  # subscriber 3 got no email
    assert audit["buyers (share)"] == pytest.approx(2 / 3)
    assert audit["weeks without a delivered email"] == 0
    tables = small_tables()
    ev, orders = tables["email_events"], tables["orders"]
    tables["email_events"] = pd.concat([ev, ev.iloc[[1]]], ignore_index=True)
    tables["orders"] = pd.concat([orders, orders.iloc[[0]].assign(order_id=2000)])
    audit = explore.data_quality(load_world(write_world(tmp_path / "dup", tables)))
    values = audit.set_index("check")["value"]
    assert values["duplicate email events"] == 1 and values["possible duplicate orders"] == 1
    assert audit.set_index("check").loc["buyers (share)", "shown"] == "66.7%"


def test_titles_state_the_finding():
    """The figure titles of notebook 01 say what the figure shows, with the numbers."""
    import pandas as pd

    from workbench import explore

    weekly = pd.DataFrame({"orders": [10, 10, 10, 10, 12, 12, 15, 15, 15, 15]})
    assert explore.title_weekly(weekly) == (
        "Week by week: orders rose 50% from the first four weeks to the last four"
    )
    sizes = pd.DataFrame({"group": ["a_b", "c"], "subscribers": [75, 25]})
    assert explore.title_shares(sizes, "Mix") == "Mix: from 75% (a b) to 25% (c)"
    assert explore.title_shares(sizes, "Mix", named=False) == "Mix: from 75% to 25% of the list"
    hours = pd.DataFrame(
        {"early": [0.0] * 6 + [0.9] + [0.0] * 17, "late": [0.0] * 21 + [0.8, 0, 0]}
    )
    assert explore.title_peak_hours(hours) == (
        "Human opens peak from 06:00 (early) to 21:00 (late) local time"
    )
    values = pd.DataFrame({"group": ["x", "x", "y"], "revenue": [10.0, 30.0, 100.0]})
    assert explore.title_medians(values, "revenue", "Order value") == (
        "Order value: medians from 20 (x) to 100 (y)"
    )
    stages = pd.DataFrame({"active": [80, 60], "lapsed": [20, 40]})
    assert explore.title_lifecycle(stages) == (
        "Active subscribers: 80% of the list in the first week, 60% in the last"
    )
    rates = pd.DataFrame({"sms": [0.2, 0.5]}, index=["p", "q"])
    assert explore.title_consent(rates) == "SMS consent from 20% (p) to 50% (q)"
