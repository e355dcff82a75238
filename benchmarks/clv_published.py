"""Our maximum-likelihood estimates on CDNOW beside the published ones (workbench.clv).

The 2,357-customer CDNOW sample of Fader & Hardie's papers ships in the Lifetimes source
distribution on PyPI (``lifetimes/datasets/cdnow_customers_summary.csv``: frequency, recency, T
in weeks; ``cdnow_customers_summary_with_transactions.csv`` adds the mean repeat spend). Fetch
and unpack it once, e.g.::

    pip download Lifetimes==0.11.3 --no-deps --no-binary :all: -d /tmp/cdnow
    # sha256 15af22b130ed0cc6148d8ae4eb9b0f9c8c9bc9c952dd4ce68a1da0bc4c80c712
    tar xzf /tmp/cdnow/Lifetimes-0.11.3.tar.gz -C /tmp/cdnow

Published values:

* BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way" (r, alpha, a, b,
  LL; the customer with x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks).
* Pareto/NBD: Fader & Hardie (2005), "A note on deriving the Pareto/NBD model" (r, alpha, s,
  beta, LL); P(alive) = 0.9979 and 25.46 purchases in 52 weeks for x=26, t_x=30.86, T=31 (BTYD
  walkthrough, R package BTYD).
* MBG/NBD: the estimates of the R package BTYDplus (Platzer), which lifetimes' tests use.
* Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (p, q, gamma)
  and the expected spend of the first ten customers from its spreadsheet.

Without PATH the sdist is fetched with ``pip download`` (sha256 pinned, as
``benchmarks/real_data.py`` does) into datasets/generated/cdnow-sdist/. The script also runs
``workbench clv`` as a user would, on the raw transaction log ``CDNOW_sample.txt`` (no header,
columns by position, dates as YYYYMMDD, calibration to 1997-09-30, holdout to 1998-06-30), and
prints the parameters it writes to ``--params-out``.

Usage: python benchmarks/clv_published.py [PATH] [--speed N]
    PATH   the unpacked sdist (the folder Lifetimes-0.11.3); default: fetched
    --speed N   also time fits of N simulated customers per model (published-like parameters)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.clv import formulas
from workbench.clv.mle import fit_gamma_gamma_mle, fit_mle
from workbench.clv.simulate import simulate, simulate_spend

PUBLISHED = {
    "bgnbd": ({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, -9582.4),
    "paretonbd": ({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, -9595.0),
    "mbgnbd": ({"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, None),
    "gammagamma": ({"p": 6.25, "q": 3.74, "gamma": 15.44}, None),
}
#: Expected spend of the first ten CDNOW customers (Fader & Hardie's Gamma-Gamma spreadsheet).
SPEND_10 = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]


def table(name: str, fit, published: dict[str, float], ll: float | None, seconds: float) -> None:
    print(f"\n{name}  (n = {fit.n}, converged = {fit.converged}, {seconds:.2f} s)")
    print(f"  {'':6} {'ours':>10} {'se':>9} {'published':>10} {'(ours-pub)/se':>14}")
    for k, pub in published.items():
        est, se = fit.params[k], fit.se[k]
        print(f"  {k:6} {est:10.4f} {se:9.4f} {pub:10.3f} {(est - pub) / se:14.3f}")
    shown = "not published" if ll is None else f"{ll:.1f}"
    print(f"  {'LL':6} {fit.loglik:10.2f} {'':9} {shown:>10}")


def speed(n: int) -> None:
    print(f"\nFit time, {n:,} simulated customers (T ~ uniform 27-39 weeks), one process:")
    T = np.random.default_rng(0).uniform(27, 39, n)
    for model in formulas.MODELS:
        truth = PUBLISHED[model][0]
        d = simulate(model, truth, T, seed=1)
        t0 = time.perf_counter()
        fit = fit_mle(model, d["x"], d["t_x"], d["T"])
        dt = time.perf_counter() - t0
        print(f"  {model:10} {dt:6.2f} s  converged={fit.converged}")
    x = simulate("bgnbd", PUBLISHED["bgnbd"][0], T, seed=2)["x"].to_numpy()
    m = simulate_spend(PUBLISHED["gammagamma"][0], x, seed=3)
    t0 = time.perf_counter()
    fit = fit_gamma_gamma_mle(x, m)
    dt = time.perf_counter() - t0
    print(f"  {'gammagamma':10} {dt:6.2f} s  converged={fit.converged} ({fit.n:,} with x > 0)")


def fetch_sdist(folder: Path) -> Path:
    """The Lifetimes sdist of ``benchmarks/real_data.py`` (sha256 checked), unpacked here."""
    import hashlib
    import shutil
    import subprocess
    import tarfile

    sys.path.insert(0, str(Path(__file__).parent))
    from real_data import SDIST, SHA256

    out = folder / "Lifetimes-0.11.3"
    if (out / "lifetimes" / "datasets").is_dir():
        return out
    dl = folder / "download"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*cmd, SDIST, "-d", str(dl)], check=True)
    (tar,) = dl.glob("*.tar.gz")
    digest = hashlib.sha256(tar.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{tar}: sha256 {digest}, expected {SHA256}")
    with tarfile.open(tar) as t:
        members = [m for m in t.getmembers() if "/lifetimes/datasets/" in m.name and m.isfile()]
        t.extractall(folder, members=members, filter="data")
    shutil.rmtree(dl)
    return out


def cli_on_raw_log(folder: Path) -> None:
    """``workbench clv`` on the raw CDNOW sample log, as a user runs it (a child process)."""
    import json
    import subprocess
    import tempfile

    log = folder / "CDNOW_sample.txt"
    print(f"\nworkbench clv on the raw log {log.name} (as a user runs it):")
    with tempfile.TemporaryDirectory() as tmp:
        for model in formulas.MODELS:
            out, params = Path(tmp) / f"{model}.csv", Path(tmp) / f"{model}.json"
            cmd = [str(Path(sys.executable).parent / "workbench"), "clv", "--orders", str(log),
                   "--customer-col", "1", "--date-col", "3", "--value-col", "5",
                   "--sep", "whitespace", "--date-format", "%Y%m%d",
                   "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30",
                   "--model", model, "--out", str(out), "--params-out", str(params)]  # fmt: skip
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            secs = time.perf_counter() - t0
            p = json.loads(params.read_text())
            names = [*formulas.PARAM_NAMES[model], *formulas.PARAM_NAMES["gammagamma"]]
            est = ", ".join(f"{k} {p[k]:.4g}" for k in names)
            h = p["holdout"]
            print(f"  {model:10} {est}; LL {p['loglik']:.1f}; holdout purchases "
                  f"{h['predicted_purchases']:.0f} predicted / {h['observed_purchases']:.0f} "
                  f"observed ({secs:.1f} s)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sdist", type=Path, nargs="?", help="the unpacked Lifetimes-0.11.3 folder")
    ap.add_argument("--speed", type=int, default=0, help="also time N simulated customers")
    args = ap.parse_args(argv)
    if args.sdist is None:
        root = Path(__file__).resolve().parents[1] / "datasets" / "generated" / "cdnow-sdist"
        args.sdist = fetch_sdist(root)
    folder = args.sdist / "lifetimes" / "datasets"
    summary = folder / "cdnow_customers_summary.csv"
    if not summary.exists():
        sys.exit(f"{summary}: not found (give the unpacked Lifetimes-0.11.3 folder)")
    d = pd.read_csv(summary)
    x, tx, T = (d[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    print(f"CDNOW: {len(d)} customers, {int((x > 0).sum())} with repeat purchases")
    fits = {}
    for model in formulas.MODELS:
        t0 = time.perf_counter()
        fits[model] = fit = fit_mle(model, x, tx, T)
        table(model, fit, *PUBLISHED[model], time.perf_counter() - t0)

    bg, pn = fits["bgnbd"].params, fits["paretonbd"].params
    print("\nConditional expectations and P(alive) at our estimates:")
    e = formulas.expected_purchases("bgnbd", bg, 39.0, 2, 30.43, 38.86)
    a = formulas.p_alive("bgnbd", bg, 2, 30.43, 38.86)
    print(f"  BG/NBD     x=2,  t_x=30.43, T=38.86: E[X(39)] = {float(e):.4f} (published 1.226),")
    print(f"             P(alive) = {float(a):.4f} (not published)")
    e = formulas.expected_purchases("paretonbd", pn, 52.0, 26, 30.86, 31.0)
    a = formulas.p_alive("paretonbd", pn, 26, 30.86, 31.0)
    print(f"  Pareto/NBD x=26, t_x=30.86, T=31:    E[X(52)] = {float(e):.4f} (BTYD 25.46),")
    print(f"             P(alive) = {float(a):.4f} (BTYD 0.9979)")
    for model in ("bgnbd", "mbgnbd", "paretonbd"):
        p = fits[model].params
        e = formulas.expected_purchases(model, p, 39.0, x, tx, T).sum()
        a = formulas.p_alive(model, p, x, tx, T).mean()
        print(f"  {model:10} all customers: {e:7.1f} expected purchases in 39 weeks, "
              f"mean P(alive) {a:.3f}")  # fmt: skip
    ex = formulas.expected_purchases_new("bgnbd", bg, np.array([1.0, 39.0, 78.0]))
    print(f"  BG/NBD E[X(t)] t = 1, 39, 78 weeks: {np.round(ex, 4).tolist()} "
          "(Hardie's sheet: 0.0532 at 1, 1.8576 at 78)")  # fmt: skip

    money = folder / "cdnow_customers_summary_with_transactions.csv"
    if money.exists():
        g = pd.read_csv(money)
        t0 = time.perf_counter()
        fit = fit_gamma_gamma_mle(g["x"].to_numpy(float), g["zbar"].to_numpy(float))
        table("gammagamma", fit, *PUBLISHED["gammagamma"], time.perf_counter() - t0)
        first = g.head(10)
        print("  E[spend] of customers 1-10:")
        for label, prm in (("published p, q, gamma", PUBLISHED["gammagamma"][0]),
                           ("our p, q, gamma", fit.params)):  # fmt: skip
            spend = formulas.gg_expected_spend(prm, first["x"], first["zbar"])
            print(f"    at {label:22} {np.round(spend, 2).tolist()}")
        print(f"    {'spreadsheet':25} {SPEND_10}")
    else:
        print(f"\n{money.name}: not found, Gamma-Gamma skipped")
    cli_on_raw_log(folder)
    if args.speed:
        speed(args.speed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
