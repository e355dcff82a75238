"""Attribution on 1,000,000 simulated journeys: wall time and peak memory per model.

Prints one line per model (seconds, peak traced memory in MiB) and, when the optional GPL peer
``ChannelAttribution`` is installed, its Markov model on the same paths and the speed ratio.

Usage: ``python benchmarks/bench_attribution.py [n_journeys] [seed]``
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from workbench.attribution import attribute
from workbench.attribution.journeys import paths_to_pathset
from workbench.attribution.simulate import simulate_paths


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall seconds (untraced run) and peak traced MiB (second, traced run) of ``fn()``."""
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, sec, peak


def main(n: int = 1_000_000, seed: int = 0) -> None:
    """Run the benchmark and print the figures."""
    t = time.perf_counter()
    paths = simulate_paths(n, seed=seed)
    sec = time.perf_counter() - t
    print(f"simulated {n:,} journeys -> {len(paths):,} distinct paths in {sec:.1f} s")
    ps, sec, mib = measure(lambda: paths_to_pathset(paths))
    print(f"{'encode paths':<24} {sec:8.3f} s {mib:8.1f} MiB")
    timings = {}
    for label, kw in [
        ("markov order 1", {"model": "markov", "order": 1}),
        ("markov order 2", {"model": "markov", "order": 2}),
        ("markov order 3", {"model": "markov", "order": 3}),
        ("shapley exact", {"model": "shapley"}),
        ("shapley coalitions", {"model": "shapley", "shapley_method": "coalitions"}),
        ("linear", {"model": "linear"}),
    ]:
        res, sec, mib = measure(lambda kw=kw: attribute(paths, **kw))
        timings[label] = (sec, res)
        print(f"{label:<24} {sec:8.3f} s {mib:8.1f} MiB   (incl. validation + encoding)")
    try:
        import ChannelAttribution as ca
    except ImportError:
        print(
            "ChannelAttribution not installed: no peer comparison (pip install ChannelAttribution)"
        )
        return
    for order in (1, 2):
        with contextlib.redirect_stdout(io.StringIO()):
            peer, sec, mib = measure(
                lambda order=order: ca.markov_model(
                    paths, "path", "total_conversions", var_value="total_conversion_value",
                    var_null="total_null", order=order, verbose=False, flg_pro=False, seed=0,
                )
            )  # fmt: skip
        ours_sec, ours = timings[f"markov order {order}"]
        merged = ours.merge(peer, left_on="channel", right_on="channel_name")
        gap = (merged["conversions"] - merged["total_conversions"]).abs().max()
        print(
            f"ChannelAttribution markov order {order}: {sec:8.3f} s {mib:8.1f} MiB (Python-side) | "
            f"ours {ours_sec:.3f} s => {sec / ours_sec:.1f}x faster | max |credit gap| {gap:.1f} "
            f"of {paths['total_conversions'].sum():,.0f} conversions"
        )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
