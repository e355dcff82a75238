"""Replay email policies in a generated world: what each promises, and what it truly earns.

Decides each policy from the world's observed data -- ``mass`` (everyone, as usual),
``playbook`` (each segment's cadence and content), ``uplift`` (the ``--budget`` share with the
highest predicted uplift, from a model fitted on the world's randomised segmented-vs-mass test),
``random`` (a random ``--budget`` share) -- then replays each for ``--weeks`` inside the world's
true response model (same subscribers, same seed, counterfactual sends), ``--replications``
times, against a replay without broadcasts. Writes into ``--out``:

- ``policies.csv``: per policy, the true incremental conversions, revenue, unsubscribes and
  complaints with intervals over the replications, broadcasts sent beyond fatigue, incremental
  conversions per 1,000 broadcasts, and what the observed data promised;
- ``segments.csv``: the same per policy and segment;
- ``targeting.csv``: per segment, its playbook and its uplift segments (persuadables, sure
  things, lost causes, do-not-disturbs) with the advice;
- ``replications.csv``: every replication's totals; ``summary.json``: the settings and the
  uplift model's held-out scores.

Only generated worlds can be replayed (their truth holds the response model). The first run
spends a few seconds re-simulating the world to the end of its period.
"""

from __future__ import annotations

import argparse
import sys

from workbench.commands._args import (
    OUTPUT_RULE,
    float_in,
    int_in,
    json_ready,
    positive_int,
    probability,
    seed,
)

HELP = "replay mass, playbook, uplift and random policies in a generated world's truth"
ORDER = 55
OUTPUTS = OUTPUT_RULE
MARKER = "strategy.json"
budget_share = float_in(0.0, 1.0, lo_open=True)


def _policies(text: str) -> list[str]:
    from workbench.strategy.policies import POLICIES

    names = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in names if p not in POLICIES]
    if not names or bad or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected distinct names among {','.join(POLICIES)}, got {text!r}"
        )
    return names


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench strategy``."""
    parser.add_argument("--world", required=True, metavar="W", help="a generated world folder")
    parser.add_argument("--policies", type=_policies, default=["mass", "playbook", "uplift",
                        "random"], metavar="P,Q",
                        help="policies to replay, comma-separated, among mass, playbook, uplift, "
                        "random (all four)")  # fmt: skip
    parser.add_argument("--weeks", type=int_in(1, 52), default=4, metavar="N",
                        help="weeks replayed, 1 to 52 (4)")  # fmt: skip
    parser.add_argument("--replications", type=int_in(1, 1000), default=10, metavar="R",
                        help="replays of every policy, 1 to 1000 (10)")  # fmt: skip
    parser.add_argument("--budget", type=budget_share, default=0.5, metavar="B",
                        help="share of the list the uplift and random policies send to "
                        "(0.5)")  # fmt: skip
    parser.add_argument("--model", choices=("s", "t", "x", "dr"), default="x",
                        help="uplift learner (x)")  # fmt: skip
    parser.add_argument("--interval", type=probability, default=0.9, metavar="P",
                        help="probability of the intervals over replications (0.9)")  # fmt: skip
    parser.add_argument("--k", type=positive_int, default=None, metavar="K",
                        help="segments of the playbook (default: from the data)")  # fmt: skip
    parser.add_argument("--seed", type=seed, default=0, metavar="S", help="0 to 2**32-1 (0)")
    parser.add_argument("--out", required=True, metavar="FOLDER", help="output folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier strategy folder (never another)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the lab and write its tables atomically."""
    import json

    from workbench._io import atomic_dir, check_not_input, check_output_dir
    from workbench.strategy import run_lab

    check_not_input(args.out, {"--world": args.world})
    check_output_dir(
        args.out, overwrite=args.overwrite, marker=MARKER, kind="strategy folder",
        flag="--overwrite",
    )  # fmt: skip
    res = run_lab(
        args.world,
        args.policies,
        weeks=args.weeks,
        replications=args.replications,
        budget=args.budget,
        model=args.model,
        interval=args.interval,
        seed=args.seed,
        k=args.k if args.k is not None else "auto",
    )
    with atomic_dir(
        args.out, args.overwrite, marker=MARKER, kind="strategy folder", flag="--overwrite"
    ) as tmp:
        res.policies.to_csv(tmp / "policies.csv", index=False, float_format="%.6g")
        res.segments.to_csv(tmp / "segments.csv", index=False, float_format="%.6g")
        res.targeting.to_csv(tmp / "targeting.csv", index=False, float_format="%.6g")
        res.replications.to_csv(tmp / "replications.csv", index=False, float_format="%.10g")
        summary = {"settings": res.settings, "uplift_test": res.uplift_test}
        (tmp / "summary.json").write_text(json.dumps(json_ready(summary), indent=2) + "\n")
        (tmp / MARKER).write_text(json.dumps(res.settings, indent=2) + "\n")
    for r in res.policies.itertuples(index=False):
        print(
            f"{r.policy}: {r.targeted:,} targeted, true incremental conversions "
            f"{r.incremental_conversions:,.0f} ({r.incremental_conversions_low:,.0f} to "
            f"{r.incremental_conversions_high:,.0f}), promised {r.promised_conversions:,.0f}",
            file=sys.stdout,
        )
    print(f"-> {args.out}", file=sys.stdout)
    return 0
