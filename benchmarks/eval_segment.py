"""Evaluation: ARI / NMI of each segmentation method against the true personas.

Usage: python benchmarks/eval_segment.py [--scenario default] [--n N] [--seed 0] [--k 9|auto]
The world is generated into datasets/generated/ if missing. Truth is read only here, to score.
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
    args = ap.parse_args()

    from workbench.features import compute_features
    from workbench.paths import generated_dir
    from workbench.schema import load_world
    from workbench.segment import segment_subscribers
    from workbench.segment.evaluate import agreement
    from workbench.synth import generate_world
    from workbench.synth.cache import is_current

    out = generated_dir() / f"{args.scenario}-n{args.n or 'default'}-s{args.seed}"
    if not is_current(out):  # missing, or made by an older generator
        generate_world(
            args.scenario,
            n_subscribers=args.n,
            seed=args.seed,
            out=out,
            overwrite=out.exists(),
            progress=True,
        )
    feats = compute_features(out)
    truth = load_world(out, tables=["subscribers"], include_truth=True)["truth_subscribers"]
    truth = truth.set_index("subscriber_id")["persona"]
    k = args.k if args.k == "auto" else int(args.k)
    print(f"world {out}: {len(feats):,} subscribers, {truth.nunique()} personas; k={args.k}")
    print(f"{'method':<14}{'segments':>9}{'ARI':>8}{'NMI':>8}{'seconds':>9}")
    for method in ("kmeans", "gmm", "agglomerative", "hdbscan"):
        t = time.perf_counter()
        res = segment_subscribers(
            feats, method=method, k=k, min_size=args.min_size, seed=args.seed, sample_size=20_000
        )
        s = agreement(res.segments, truth)
        print(
            f"{method:<14}{res.segmenter.n_segments_:>9}{s['ari']:>8.3f}{s['nmi']:>8.3f}"
            f"{time.perf_counter() - t:>9.1f}"
        )


if __name__ == "__main__":
    main()
