"""Robustness sweep: every segmentation method on random scenarios it was never tuned on.

Usage: python benchmarks/sweep_segment.py [--scenarios 24] [--seed S] [--methods ...]
       [--max-subscribers N] [--jobs 1] [--keep DIR]

Each scenario is drawn from the family of :mod:`workbench.synth.family` (5,000-100,000
subscribers, 8-26 weeks of history, 5-9 of the 9 personas with Dirichlet shares down to 2% of
the list, 1-5 email days a week, random send hour, content, flows and experiments) by a scenario
seed; the scenario seeds are drawn from ``--seed``, which is itself drawn fresh from the
operating system unless given (it is printed, so that a run can be repeated). Each world is
generated with its own seed, then every method segments it with ``k="auto"`` as
``workbench segment`` does, and is scored against the true personas (truth is read only here).

Printed: one row per scenario (size, weeks, email days, the persona shares, true number of
personas present, then chosen k and ARI per method, and the recommended method's seconds),
(``--ceiling``: the two truth-fitted references of ``eval_segment.py``, what the features carry
at best), then a summary per method: median / worst / 10th-percentile ARI, how often the chosen k is
within 1 of the truth, and how often it is at the top of the search range.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=24)
    ap.add_argument(
        "--seed", type=int, default=None, help="draws the scenario seeds (default: fresh)"
    )
    ap.add_argument("--methods", default="deconvolved,kmeans,gmm,agglomerative,hdbscan")
    ap.add_argument("--max-subscribers", type=int, default=None, help="cap the drawn sizes")
    ap.add_argument("--keep", default=None, help="folder to keep the worlds in (default: temp)")
    ap.add_argument("--ceiling", action="store_true", help="add eval_segment.py's two references")
    ap.add_argument("--csv", default=None, help="also write the per-scenario table to this CSV")
    args = ap.parse_args()

    import numpy as np
    import pandas as pd

    from workbench.features import compute_features
    from workbench.segment import K_RANGE, segment_subscribers
    from workbench.segment.evaluate import agreement
    from workbench.synth.family import family_scenario
    from workbench.synth.generate import generate_world
    from workbench.truth import load_truth

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    rng = np.random.default_rng(seed)
    scenario_seeds = rng.choice(10**6, size=args.scenarios, replace=False)
    methods = args.methods.split(",")
    print(f"sweep seed {seed}: {args.scenarios} scenarios, methods {', '.join(methods)}, "
          f"k auto over {K_RANGE.start}-{K_RANGE.stop - 1}", flush=True)  # fmt: skip
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sweep-"))
    rows = []
    for i, s in enumerate(scenario_seeds):
        sc = family_scenario(int(s))
        n = sc.n_subscribers
        if args.max_subscribers:
            n = min(n, args.max_subscribers)
        out = root / f"family-{s}-n{n}"
        t = time.perf_counter()
        if not (out / "world.json").is_file():
            generate_world(sc, n_subscribers=n, seed=int(s), out=out, overwrite=out.exists())
        t_gen = time.perf_counter() - t
        feats = compute_features(out)
        truth = load_truth(out, tables=["truth_subscribers"])["truth_subscribers"]
        truth = truth.set_index("subscriber_id")["persona"]
        counts = truth.value_counts()
        row = {
            "scenario": int(s),
            "n": n,
            "weeks": sc.days // 7,
            "email_days": len(sc.calendar.email_weekdays),
            "shares": " ".join(f"{v:.2f}" for v in sorted(sc.shares.values(), reverse=True)),
            "true_k": int((counts > 0).sum()),
        }
        for method in methods:
            t = time.perf_counter()
            res = segment_subscribers(feats, method=method, k="auto", seed=int(s))
            row[f"{method}_s"] = time.perf_counter() - t
            row[f"{method}_k"] = int(res.segmenter.n_segments_)
            row[f"{method}_ari"] = agreement(res.segments, truth)["ari"]
        if args.ceiling:
            from eval_segment import ceilings

            for name, labels in ceilings(feats, truth, int(s)).items():
                row[name] = agreement(labels, truth)["ari"]
        rows.append(row)
        cells = "  ".join(f"{m[:6]} k={row[f'{m}_k']:>2} {row[f'{m}_ari']:.3f}" for m in methods)
        print(f"[{i + 1:>2}] scenario {s:>6}: n={n:>6} weeks={row['weeks']:>2} "
              f"days/wk={row['email_days']} true k={row['true_k']} shares {row['shares']}\n"
              f"       {cells}   ({methods[0]} {row[f'{methods[0]}_s']:.1f} s, "
              f"world {t_gen:.0f} s)", flush=True)  # fmt: skip
        refs = {c: v for c, v in row.items() if c.startswith("ceiling")}
        if refs:
            print("       " + "  ".join(f"{c} {v:.3f}" for c, v in refs.items()), flush=True)
    table = pd.DataFrame(rows)
    print("\nsummary over", len(table), "scenarios (sweep seed", seed, ")")
    print(f"{'method':<14}{'median ARI':>11}{'worst':>8}{'p10':>8}{'|k-true|<=1':>13}"
          f"{'k at top':>10}{'median s':>10}")  # fmt: skip
    for m in methods:
        ari = table[f"{m}_ari"]
        dk = (table[f"{m}_k"] - table["true_k"]).abs()
        top = (table[f"{m}_k"] >= K_RANGE.stop - 1).mean()
        secs = table[f"{m}_s"].median()
        print(f"{m:<14}{ari.median():>11.3f}{ari.min():>8.3f}{ari.quantile(0.1):>8.3f}"
              f"{(dk <= 1).mean():>13.0%}{top:>10.0%}{secs:>10.1f}")  # fmt: skip
    for c in [c for c in table.columns if c.startswith("ceiling")]:
        print(f"{c:<30} median {table[c].median():.3f}  worst {table[c].min():.3f}")
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.keep is None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
