"""Send-time optimisation against the truth on fresh worlds: the scorecard per method over seeds.

For each world seed (the ``default`` scenario, 50,000 subscribers, seeds 101-104 unless told
otherwise: the model was developed on seeds 101-102 at 20,000 subscribers and on simulated opens,
never on 103-104), generates the world, builds the weekday open-hours table
(:func:`workbench.timing.open_hours`), segments the list as ``workbench segment`` does
(:func:`workbench.segment.segment_subscribers` on the features), fits
:class:`workbench.timing.SendTimeModel` and scores every method against the true weekday
preferred hours (:func:`workbench.timing.scorecard.score_send_times`): one hour for everyone, one
per segment, the subscriber's own evidence, the circular mean of their open hours, the pooled
(shrunk) hour, and the pooled model aiming at the most attention instead of the preferred hour
(``shrunk_attention``). Prints one block per seed (overall and by history band), then the
scorecard over the seeds (mean, standard deviation, min-max).

It also prints the issue's OLD check on the same worlds: the per-subscriber circular mean of
human open hours on local weekdays against the true weekday hour (subscribers with such opens),
and one global hour (the circular mean of all those opens) against every subscriber's.

Usage: python benchmarks/eval_timing.py [--scenario default] [--subscribers 50000]
       [--seeds 101 102 103 104] [--no-segments]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ["global", "segment", "subscriber_naive", "subscriber", "shrunk", "shrunk_attention"]


def old_check(world: Path) -> dict[str, float]:
    """The issue's check: circular mean of weekday human open hours vs the true weekday hour."""
    from workbench.schema import load_world
    from workbench.timing import circular_distance
    from workbench.timing.scorecard import true_hours

    w = load_world(world, tables=["subscribers", "email_events"])
    ev, subs = w["email_events"], w["subscribers"].set_index("subscriber_id")
    op = ev[(ev["event_type"] == "opened") & ~ev["is_machine_open"].astype(bool)]
    tz = subs["tz_offset_h"].reindex(op["subscriber_id"]).to_numpy(float)
    local = (op["ts"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy() + tz * 3600
    weekday = ((np.floor(local / 86400).astype(np.int64) + 3) % 7) < 5
    hour = np.mod(local, 86400)[weekday] / 3600
    sid = op["subscriber_id"].to_numpy()[weekday]
    a = 2 * np.pi * hour / 24
    g = pd.DataFrame({"s": np.sin(a), "c": np.cos(a)}).groupby(sid).mean()
    mean_hour = np.mod(np.arctan2(g["s"], g["c"]) * 24 / (2 * np.pi), 24)
    true = true_hours(world)
    err = circular_distance(mean_hour.to_numpy(), true.reindex(mean_hour.index).to_numpy())
    glob = float(np.mod(np.arctan2(np.sin(a).mean(), np.cos(a).mean()) * 24 / (2 * np.pi), 24))
    gerr = circular_distance(glob, true.to_numpy())
    return {
        "circular_mean_error_h": float(np.mean(err)),
        "circular_mean_median_h": float(np.median(err)),
        "subscribers_with_weekday_opens": int(len(mean_hour)),
        "global_hour": glob,
        "global_error_h": float(np.mean(gerr)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--subscribers", type=int, default=50_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104])
    ap.add_argument("--no-segments", action="store_true", help="fit without segments")
    args = ap.parse_args()

    from workbench.features import compute_features
    from workbench.segment import segment_subscribers
    from workbench.synth import generate_world
    from workbench.timing import SendTimeModel, open_hours
    from workbench.timing.scorecard import score_send_times, true_hours

    pd.set_option("display.width", 160)
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; scenario "
        f"{args.scenario}, {args.subscribers:,} subscribers, seeds {args.seeds}"
    )
    cards, bands, olds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            t0 = time.perf_counter()
            path = generate_world(
                args.scenario, n_subscribers=args.subscribers, seed=seed, out=Path(tmp) / f"w{seed}"
            )
            gen = time.perf_counter() - t0
            t0 = time.perf_counter()
            table = open_hours(path)
            t_table = time.perf_counter() - t0
            segments = None
            t_seg = 0.0
            if not args.no_segments:
                t0 = time.perf_counter()
                seg = segment_subscribers(compute_features(path), seed=0)
                segments = seg.segments
                t_seg = time.perf_counter() - t0
            t0 = time.perf_counter()
            model = SendTimeModel().fit(table, segments)
            t_fit = time.perf_counter() - t0
            early = SendTimeModel(target="attention").fit(table, segments)
            truth = true_hours(path)
            recs: dict[str, pd.Series] = {}
            for m in METHODS[:-1]:
                recs[m] = model.all_hours_[m].reindex(truth.index).fillna(model.global_hour_)
            recs["shrunk_attention"] = early.predict(truth.index)
            card = score_send_times(path, recs).assign(seed=seed)
            band = score_send_times(path, recs, history=model.n_opens_, by_history=True).assign(
                seed=seed
            )
            old = {"seed": seed, **old_check(path)}
            cards.append(card)
            bands.append(band)
            olds.append(old)
            print(
                f"\n== seed {seed}: world {gen:.0f} s, open_hours {t_table:.1f} s "
                f"({len(table):,} weekday deliveries, {int(table['opened'].sum()):,} human "
                f"opens), segments {t_seg:.0f} s ({len(model.segment_hours_)}), fit "
                f"{t_fit:.1f} s ({model.n_iter_} EM iterations, concentration "
                f"{model.concentration_:.1f}, median hours to open "
                f"{model.median_hours_to_open_:.1f}), load "
                f"{os.getloadavg()[0]:.2f}"
            )
            print(card.drop(columns="seed").round(3).to_string(index=False))
            print(
                band.drop(columns="seed")
                .pivot(index="method", columns="history", values="mean_error_h")
                .round(2)
                .to_string()
            )
            print(
                f"OLD check: circular mean of weekday open hours off by "
                f"{old['circular_mean_error_h']:.2f} h on average (median "
                f"{old['circular_mean_median_h']:.2f} h, {old['subscribers_with_weekday_opens']:,}"
                f" subscribers); one global hour ({old['global_hour']:.2f}) off by "
                f"{old['global_error_h']:.2f} h"
            )
    all_cards = pd.concat(cards, ignore_index=True)
    cols = ["mean_error_h", "within_2h", "open_rate_ratio"]
    summary = all_cards.groupby("method")[cols].agg(["mean", "std", "min", "max"])
    summary = summary.reindex([m for m in METHODS if m in summary.index])
    print(f"\n== scorecard over {len(args.seeds)} seeds (mean, sd, min, max)")
    print(summary.round(3).to_string())
    all_bands = pd.concat(bands, ignore_index=True)
    by = all_bands.groupby(["method", "history"], observed=True)["mean_error_h"].agg(
        ["mean", "std"]
    )
    print("\n== mean error (h) by history band over the seeds (mean, sd)")
    print(by.unstack("history").round(2).reindex(METHODS).to_string())
    o = pd.DataFrame(olds)
    print("\n== OLD check over the seeds (mean, sd)")
    print(o.drop(columns="seed").agg(["mean", "std"]).round(3).to_string())


if __name__ == "__main__":
    main()
