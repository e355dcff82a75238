"""Evaluation: ARI / NMI of each segmentation method against the true personas.

Usage: python benchmarks/eval_segment.py [--scenario default] [--n N] [--seed 0] [--k auto|9]
       [--unreachable cluster|rule|both] [--methods kmeans,gmm,...]

The world is generated into datasets/generated/ if missing. Truth is read only here, to score.
``ARI`` and ``NMI`` are over every subscriber (with ``--unreachable rule`` the rule segment of
subscribers who cannot be emailed is one more segment); ``ARI reach`` is the ARI over the
email-reachable base only, as extra information. ``k=auto`` searches ``workbench.segment.K_RANGE``
(the range notebook 02 searches).
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
    ap.add_argument("--methods", default="kmeans,gmm,agglomerative,hdbscan")
    ap.add_argument("--confusion", action="store_true", help="print each persona x segment table")
    args = ap.parse_args()

    import pandas as pd

    from workbench.features import compute_features
    from workbench.schema import load_world
    from workbench.segment import K_RANGE, segment_subscribers
    from workbench.segment.evaluate import agreement, confusion
    from workbench.synth.cache import cached_world

    t = time.perf_counter()
    out = cached_world(args.scenario, args.n, args.seed, progress=True)
    print(f"world {out.name} ready in {time.perf_counter() - t:.1f} s")
    feats = compute_features(out)
    truth = load_world(out, tables=["subscribers"], include_truth=True)["truth_subscribers"]
    truth = truth.set_index("subscriber_id")["persona"]
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


if __name__ == "__main__":
    main()
