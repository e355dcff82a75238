"""Evaluation: ARI / NMI of each segmentation method against the true personas.

Usage: python benchmarks/eval_segment.py [--scenario default] [--n N] [--seed 0] [--k auto|9]
       [--unreachable cluster|rule|both] [--methods deconvolved,kmeans,...] [--ceiling] [--cadence]

The world is generated into datasets/generated/ if missing. Truth is read only here, to score.
``ARI`` and ``NMI`` are over every subscriber (with ``--unreachable rule`` the rule segment of
subscribers who cannot be emailed is one more segment); ``ARI reach`` is the ARI over the
email-reachable base only, as extra information. ``k=auto`` searches ``workbench.segment.K_RANGE``
(the range notebook 02 searches).

``--ceiling`` adds two reference rows that *use the truth* and so are not segmentations: the
recommended model (a diagonal deconvolving mixture on the same features) with each component
fitted on one true persona, which is the best that model class can do on these features, and a
supervised classifier (gradient boosting, 3-fold cross-validated predictions) on the same
features, which tells what the features carry at all.

``--cadence`` scores the playbook's cadence estimate: with the true personas as segments, the
emails per week before fatigue from the world's cadence test (or observed volumes) beside each
persona's median true fatigue threshold (``truth_subscribers.fatigue_threshold``).
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", default="auto", help="segments per method, or 'auto'")
    ap.add_argument("--min-size", type=int, default=50)
    ap.add_argument("--unreachable", choices=("cluster", "rule", "both"), default="both")
    ap.add_argument("--methods", default="deconvolved,kmeans,gmm,agglomerative,hdbscan")
    ap.add_argument("--confusion", action="store_true", help="print each persona x segment table")
    ap.add_argument("--ceiling", action="store_true", help="add the two truth-fitted references")
    ap.add_argument("--cadence", action="store_true", help="score the cadence estimate too")
    args = ap.parse_args()

    import pandas as pd

    from workbench.features import compute_features
    from workbench.segment import K_RANGE, segment_subscribers
    from workbench.segment.evaluate import agreement, confusion
    from workbench.synth.cache import cached_world
    from workbench.truth import load_truth

    t = time.perf_counter()
    out = cached_world(args.scenario, args.n, args.seed, progress=True)
    print(f"world {out.name} ready in {time.perf_counter() - t:.1f} s")
    feats = compute_features(out)
    truth_table = load_truth(out, tables=["truth_subscribers"])["truth_subscribers"]
    truth = truth_table.set_index("subscriber_id")["persona"]
    reach = feats["email_reachable"] == 1
    k = args.k if args.k == "auto" else int(args.k)
    modes = ("cluster", "rule") if args.unreachable == "both" else (args.unreachable,)
    print(
        f"world {out}: {len(feats):,} subscribers ({reach.mean():.1%} reachable by email), "
        f"{truth.nunique()} personas; k={args.k} (auto: {K_RANGE.start}-{K_RANGE.stop - 1})"
    )
    print(f"{'method':<14}{'unreachable':>12}{'segments':>9}{'ARI':>8}{'NMI':>8}"
          f"{'ARI reach':>10}{'seconds':>9}")  # fmt: skip
    for method in args.methods.split(","):
        for mode in modes:
            t = time.perf_counter()
            res = segment_subscribers(
                feats,
                method=method,
                k=k,
                min_size=args.min_size,
                seed=args.seed,
                sample_size=20_000,
                unreachable=mode,
            )
            s = agreement(res.segments, truth)
            r = agreement(res.segments[reach], truth)
            print(
                f"{method:<14}{mode:>12}{res.segmenter.n_segments_:>9}{s['ari']:>8.3f}"
                f"{s['nmi']:>8.3f}{r['ari']:>10.3f}{time.perf_counter() - t:>9.1f}",
                flush=True,
            )
            if args.confusion:
                with pd.option_context("display.width", 250, "display.max_columns", 40):
                    table = confusion(res.segments, truth, normalize=False)
                    print(table.to_string())
                    print("\n".join(f"  {s}: {n}" for s, n in sorted(res.names.items())))
    if args.cadence:
        from workbench.segment.playbook import cadence_evidence, fatigue_cadence

        curve, source = cadence_evidence(out, truth)
        table = pd.DataFrame({"estimated max emails/week": fatigue_cadence(curve)})
        true = truth_table.groupby("persona")["fatigue_threshold"].median()
        table["true fatigue threshold (median)"] = true.reindex(table.index).round(2)
        print(f"cadence from {source}, true personas as segments:")
        print(table.to_string())
    if args.ceiling:
        for name, labels in ceilings(feats, truth, args.seed).items():
            s = agreement(labels, truth)
            r = agreement(labels[reach], truth)
            print(f"{name:<26}{'':>9}{s['ari']:>8.3f}{s['nmi']:>8.3f}{r['ari']:>10.3f}")


def ceilings(feats, truth, seed):
    """Truth-fitted references (evaluation only): best-case mixture and a classifier."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_predict

    from workbench.segment import DeconvolvedMixture
    from workbench.segment.pipelines import attribute_levels, feature_views
    from workbench.segment.policy import attribute_columns

    _, (values, noise, codes) = feature_views(feats)
    attrs = attribute_columns(feats)
    levels = attribute_levels(feats, attrs)
    y, personas = pd.factorize(truth.reindex(feats.index))
    loglik = []
    for p in range(len(personas)):
        # one component per persona, each fitted on its own members; the categorical levels
        # are fitted over all rows so that every persona knows every level
        model = DeconvolvedMixture(1, n_init=1, random_state=seed)
        model.fit(values[y == p], noise_var=noise[y == p], categories=codes[y == p])
        model.n_levels_ = [len(v) for v in levels.values()]
        counts = [
            np.bincount(c[(y == p) & (c >= 0)], minlength=n) + 1.0
            for c, n in zip(codes.T, model.n_levels_, strict=True)
        ]
        model.category_probs_ = [(c / c.sum())[None] for c in counts]
        loglik.append(model.score_samples(values, noise, codes) + np.log(np.mean(y == p)))
    clf = HistGradientBoostingClassifier(
        max_iter=200, random_state=seed, categorical_features=list(range(len(attrs)))
    )
    predicted = cross_val_predict(
        clf, np.column_stack([np.where(codes < 0, np.nan, codes), values]), y, cv=3
    )
    loglik = np.column_stack(loglik)
    return {
        "ceiling: mixture at truth": pd.Series(loglik.argmax(axis=1), feats.index),
        "ceiling: classifier": pd.Series(predicted, feats.index),
    }


if __name__ == "__main__":
    main()
