"""Benchmark of the customer-value models: fit time and peak memory. Prints figures only.

For 10k, 100k and 1M customers drawn from each purchase model (CDNOW-like parameters in weeks,
ages of 27 to 39 weeks), fits:

* by maximum likelihood (:func:`workbench.clv.mle.fit_mle`; target: seconds at 100k), every
  purchase model and the Gamma–Gamma spend model;
* in PyMC (:class:`workbench.clv.bayes.PurchaseModel`, BG/NBD and Pareto/NBD;
  ``--draws``/``--tune``/``--chains``): the wall time includes building and compiling the model
  (and any retry with more draws when the diagnostics fail), ``sample s`` is the sampler's own
  time of the last attempt, ``rows`` the distinct customers the likelihood sums over.

Recency is rounded to whole days, as in a summary made from a log of dates (ages are whole days
too), so large summaries collapse to far fewer distinct rows.

Each case runs in a fresh child process, so its peak resident memory (``ru_maxrss``) is its own;
the memory of the child after its imports, before the data exist, is printed beside it.

Usage::

    .venv/bin/python benchmarks/bench_clv.py [--sizes 10000,100000,1000000]
        [--bayes-sizes 10000,100000,1000000] [--draws 500] [--tune 500] [--chains 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
from typing import Any

PARAMS = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "paretonbd": {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67},
    "mbgnbd": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
}
SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _data(model: str, n: int, seed: int = 0) -> Any:
    import numpy as np

    from workbench.clv.simulate import simulate, simulate_spend

    rng = np.random.default_rng(seed)
    T = np.round(rng.uniform(27, 39, n) * 7) / 7  # whole days, in weeks
    sim = simulate(model, PARAMS[model], T, seed=seed)
    mbar = simulate_spend(SPEND, sim["x"].to_numpy(), seed=seed + 1)
    # a summary made from dates has whole days: recency to the nearest day, as from a log
    sim["t_x"] = np.minimum(np.round(sim["t_x"].to_numpy() * 7) / 7, T)
    return sim, mbar


def _case(kind: str, model: str, n: int, opts: dict[str, Any], q: Any) -> None:
    import numpy as np
    import pandas as pd

    from workbench.clv.mle import fit_gamma_gamma_mle, fit_mle

    base = _rss_mb()
    sim, mbar = _data(model, n)
    x, tx, T = (sim[c].to_numpy(float) for c in ("x", "t_x", "T"))
    out: dict[str, Any] = {"base_mb": base}
    t0 = time.perf_counter()
    if kind == "mle":
        fit = fit_mle(model, x, tx, T)
        out["fit_s"] = time.perf_counter() - t0
        out["params"] = fit.params
        rep = x > 0
        t1 = time.perf_counter()
        fit_gamma_gamma_mle(x[rep], mbar[rep])
        out["spend_s"] = time.perf_counter() - t1
    else:
        from workbench.clv.bayes import PurchaseModel

        data = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
        m = PurchaseModel(model, seed=0, **opts).fit(data)
        out["fit_s"] = time.perf_counter() - t0
        post = m.posterior_params()
        out["params"] = {k: float(np.mean(v)) for k, v in post.items()}
        out["sampling_s"] = m.sampling_.sampling_time
        out["rows"] = len(m.fit_data_)
    out["peak_mb"] = _rss_mb()
    q.put(out)


def run(kind: str, model: str, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_case, args=(kind, model, n, opts, q))
    p.start()
    res = q.get()
    p.join()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--bayes-sizes", default="10000,100000,1000000")
    ap.add_argument("--bayes-models", default="bgnbd,paretonbd")
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    a = ap.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {f.read().split()[0]} (2 cores)")
    print("maximum likelihood (purchase model; Gamma-Gamma on the repeat buyers)")
    print(
        f"{'model':<10} {'customers':>10} {'fit s':>8} {'spend s':>8} {'peak MB':>8} "
        f"{'base MB':>8}  estimates"
    )
    for model in PARAMS:
        for n in (int(s) for s in a.sizes.split(",") if s):
            r = run("mle", model, n, {})
            est = ", ".join(f"{k}={v:.3f}" for k, v in r["params"].items())
            print(f"{model:<10} {n:>10,} {r['fit_s']:>8.2f} {r['spend_s']:>8.2f} "
                  f"{r['peak_mb']:>8.0f} {r['base_mb']:>8.0f}  {est}")  # fmt: skip
    opts = {"draws": a.draws, "tune": a.tune, "chains": a.chains}
    print(f"\nPyMC ({a.chains} chains x {a.draws} draws, {a.tune} tuning steps; wall time "
          "includes building and compiling the model)")  # fmt: skip
    print(
        f"{'model':<10} {'customers':>10} {'rows':>8} {'wall s':>8} {'sample s':>8} "
        f"{'peak MB':>8}  posterior means"
    )
    for model in a.bayes_models.split(","):
        for n in (int(s) for s in a.bayes_sizes.split(",") if s):
            r = run("bayes", model, n, opts)
            est = ", ".join(f"{k}={v:.3f}" for k, v in r["params"].items())
            samp = r.get("sampling_s")
            samp_txt = f"{samp:>8.1f}" if isinstance(samp, int | float) else f"{'n/a':>8}"
            print(f"{model:<10} {n:>10,} {r['rows']:>8,} {r['fit_s']:>8.1f} {samp_txt} "
                  f"{r['peak_mb']:>8.0f}  {est}")  # fmt: skip
    with open("/proc/loadavg") as f:
        print(f"load average at end: {f.read().split()[0]}")


if __name__ == "__main__":
    main()
