"""Benchmark of the uplift learners against scikit-uplift and causalml: time, memory, AUUC.

For each size (``--rows``, default 100k and 1M rows of
:func:`workbench.uplift.simulate.simulate_uplift`, binary outcome, half the rows held out at
random), every learner is fitted on the training half and scores the held-out half, each in a
fresh child process so that its peak resident memory (``VmHWM``) is its own:

* ours: :class:`workbench.uplift.learners.UpliftModel` with ``learner`` s, t, x and dr, with
  ``oof=False`` (the peers' ratios are to these) and then with ``oof=True`` (labelled ``oof``:
  ``fit`` also computes ``oof_uplift_``, the learner refitted once per fold, as ``workbench
  uplift`` does to score its training rows);
* scikit-uplift 0.5.1: ``SoloModel`` (S), ``TwoModels(method="vanilla")`` (T) and
  ``ClassTransformation`` (no counterpart of ours; shown for reference);
* causalml 0.18.0: ``BaseSClassifier``, ``BaseTClassifier``, ``BaseXClassifier`` (given the
  constant treated share as propensity, as ours uses) and ``BaseDRRegressor`` whose outcome
  models are the same classifier predicting probabilities (causalml's ``BaseDRClassifier``
  builds its pseudo-outcomes from ``predict``, i.e. 0/1 class labels, in ``fit``; it is run
  too, as shipped, on the smallest size).

Every learner uses the same base model: ``HistGradientBoostingClassifier`` (outcome models) and
``HistGradientBoostingRegressor`` (effect models of X and DR) with the default settings of
``UpliftModel`` (read from ``workbench.uplift.learners`` and printed) and ``random_state=0``,
on the same numeric matrix (the ``device`` category as its integer code), the same split and
the same scikit-learn. Printed per learner: fit and
scoring seconds, peak and base MB (base: the child after its imports, before the data), the
held-out AUUC, Qini coefficient and uplift of the top 30% (:mod:`workbench.uplift.metrics`),
the root mean squared error of the score against the true uplift of the held-out rows, and the
ratio of the fit time to that of our learner of the same kind without ``oof_uplift_``.

The peers run in their own virtual environment, ``datasets/generated/peer-venvs/uplift/``
(created by this script once, from the interpreter running it: ``pip install -c
requirements.lock`` numpy, pandas, scipy, scikit-learn and the two peers), because causalml
brings two dozen packages (xgboost with a 300 MB CUDA library, lightgbm, shap, statsmodels,
black, ...) that the project's environment does not need; none changes a pinned version.
``--no-peers`` skips them.

Usage::

    .venv/bin/python benchmarks/bench_uplift.py [--rows 100000,1000000] [--no-peers] [--threads 1]

``--threads N`` sets ``OMP_NUM_THREADS`` for every fit (scikit-learn's boosting is
OpenMP-parallel). The default is one thread per fit: on a 2-core machine that other processes
keep busy, OpenMP's threads wait for each other and a fit with both cores took 6 to 9 times
longer than with one (a 10,000-row fit at load average 4.5: 0.3 s on one thread, 1.7 to 2.7 s
on two), which would swamp the comparison. ``--threads 0`` leaves the libraries' default (all
cores), for an idle machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The peers and their versions (installed into their own environment, see the docstring).
PEERS = ("scikit-uplift==0.5.1", "causalml==0.18.0")
PEER_VENV = ROOT / "datasets" / "generated" / "peer-venvs" / "uplift"
#: Boosting settings used when ``workbench.uplift.learners`` does not say its defaults.
HGB: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "early_stopping": False,
}
#: (library, learner, label) in the order printed; the peers' label names their class.
CASES = (
    ("workbench", "s", "UpliftModel('s')"),
    ("workbench", "t", "UpliftModel('t')"),
    ("workbench", "x", "UpliftModel('x')"),
    ("workbench", "dr", "UpliftModel('dr')"),
    ("workbench", "s+oof", "UpliftModel('s', oof)"),
    ("workbench", "t+oof", "UpliftModel('t', oof)"),
    ("workbench", "x+oof", "UpliftModel('x', oof)"),
    ("workbench", "dr+oof", "UpliftModel('dr', oof)"),
    ("sklift", "s", "SoloModel"),
    ("sklift", "t", "TwoModels(vanilla)"),
    ("sklift", "ct", "ClassTransformation"),
    ("causalml", "s", "BaseSClassifier"),
    ("causalml", "t", "BaseTClassifier"),
    ("causalml", "x", "BaseXClassifier"),
    ("causalml", "dr", "BaseDRRegressor(proba)"),
    ("causalml", "drc", "BaseDRClassifier"),
)


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    ``VmHWM`` of ``/proc/self/status``, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across
    ``exec``, so a child would report the parent's peak (the simulated data) as its own.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ child: one fit, one score


def base_settings() -> dict[str, Any]:
    """The boosting settings of every learner: ``UpliftModel``'s defaults, numeric columns.

    Returns
    -------
    dict
        Keyword arguments of ``HistGradientBoostingClassifier``/``Regressor`` (without the
        seed): those of ``workbench.uplift.learners`` (its private ``_HGB``) less
        ``categorical_features``, or :data:`HGB` when the module does not have them.
    """
    from workbench.uplift import learners

    found = getattr(learners, "_HGB", None)
    if not isinstance(found, dict):
        return dict(HGB)
    return {k: v for k, v in found.items() if k != "categorical_features"}


def _hgb(kind: str, hgb: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if kind == "clf" else HistGradientBoostingRegressor
    return cls(**hgb, random_state=seed)


def _model(lib: str, learner: str, hgb: dict[str, Any], seed: int) -> Any:
    """The unfitted learner of ``lib`` with the shared base model."""
    clf, reg = _hgb("clf", hgb, seed), _hgb("reg", hgb, seed)
    if lib == "workbench":
        from workbench.uplift.learners import UpliftModel

        name, _, oof = learner.partition("+")
        kw = {"oof": bool(oof)} if "oof" in UpliftModel().get_params() else {}
        return UpliftModel(name, estimator=clf, regressor=reg, random_state=seed, **kw)
    if lib == "sklift":
        from sklift.models import ClassTransformation, SoloModel, TwoModels

        if learner == "s":
            return SoloModel(clf)
        if learner == "t":
            return TwoModels(clf, _hgb("clf", hgb, seed), method="vanilla")
        return ClassTransformation(clf)
    from causalml.inference import meta
    from sklearn.ensemble import HistGradientBoostingClassifier

    class ProbaClassifier(HistGradientBoostingClassifier):
        """The classifier whose ``predict`` is P(y = 1): an outcome model for a regressor API."""

        def predict(self, X: Any) -> Any:
            return self.predict_proba(X)[:, 1]

    if learner == "s":
        return meta.BaseSClassifier(learner=clf)
    if learner == "t":
        return meta.BaseTClassifier(learner=clf)
    if learner == "x":
        return meta.BaseXClassifier(outcome_learner=clf, effect_learner=reg)
    if learner == "dr":
        proba = ProbaClassifier(**hgb, random_state=seed)
        return meta.BaseDRRegressor(
            control_outcome_learner=proba,
            treatment_outcome_learner=proba,
            treatment_effect_learner=reg,
        )
    return meta.BaseDRClassifier(
        control_outcome_learner=clf, treatment_outcome_learner=clf, treatment_effect_learner=reg
    )


def _fit_predict(lib: str, learner: str, model: Any, d: Any, seed: int, share: float) -> Any:
    """Fit on the training rows, return (fit seconds, score seconds, held-out scores)."""
    import numpy as np

    X, y, t, Xt = d["X_train"], d["y_train"], d["t_train"], d["X_test"]
    t0 = time.perf_counter()
    if lib == "causalml":
        kw = {"p": np.full(len(y), share)} if learner in ("x", "dr", "drc") else {}
        if learner in ("dr", "drc"):
            kw["seed"] = seed
        model.fit(X, treatment=t, y=y, **kw)
    else:
        model.fit(X, y, t)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if lib == "causalml":
        kw = {"p": np.full(len(Xt), share)} if learner == "x" else {}
        score = model.predict(Xt, **kw)
    else:
        score = model.predict(Xt)
    return fit_s, time.perf_counter() - t0, np.asarray(score, dtype=float).ravel()


def child(spec_file: str) -> None:
    """Run one case described by a JSON file; write its figures and scores beside it.

    Parameters
    ----------
    spec_file : str
        JSON with ``lib``, ``learner``, ``seed``, ``hgb`` (boosting settings), ``data`` (an
        ``.npz`` of ``X_train``, ``y_train``, ``t_train``, ``X_test``), ``scores`` (``.npy``
        written: the held-out scores) and ``result`` (JSON written: seconds, MB, versions).
    """
    import warnings
    from importlib.metadata import version

    import numpy as np

    spec = json.loads(Path(spec_file).read_text())
    lib, learner, seed = spec["lib"], spec["learner"], spec["seed"]
    _model(lib, learner, spec["hgb"], seed)  # the imports, so that base MB includes them
    dist = {"workbench": "workbench", "sklift": "scikit-uplift", "causalml": "causalml"}[lib]
    out: dict[str, Any] = {"base_mb": _rss_mb(), "version": version(dist)}
    out["sklearn"] = version("scikit-learn")
    d = dict(np.load(spec["data"]))
    share = float(d["t_train"].mean())
    model = _model(lib, learner, spec["hgb"], seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the peers' deprecation notices
        out["fit_s"], out["predict_s"], score = _fit_predict(lib, learner, model, d, seed, share)
    out["peak_mb"] = _rss_mb()
    np.save(spec["scores"], score)
    Path(spec["result"]).write_text(json.dumps(out))


# ------------------------------------------------------------------------- the peers' venv


def peer_python(venv: Path = PEER_VENV, quiet: bool = False) -> Path | None:
    """The interpreter of the peers' environment, created (once) when missing.

    Parameters
    ----------
    venv : Path
        Folder of the environment.
    quiet : bool
        Print nothing when the environment already exists.

    Returns
    -------
    Path or None
        Its ``python``; None (after printing pip's last lines) when the install fails.
    """
    python = venv / "bin" / "python"
    stamp = venv / "installed.txt"
    lock = ROOT / "requirements.lock"
    # rebuilt when the peers or the lock change, so that the base libraries stay those of .venv
    want = "\n".join([*PEERS, hashlib.sha256(lock.read_bytes()).hexdigest()]) + "\n"
    if stamp.exists() and stamp.read_text() == want and python.exists():
        if not quiet:
            print(f"peers: {', '.join(PEERS)} in {venv.relative_to(ROOT)} (existing)")
        return python
    print(f"peers: creating {venv.relative_to(ROOT)} ({', '.join(PEERS)}; about 2 minutes)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    base = ["numpy", "pandas", "scipy", "scikit-learn"]
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += ["-c", str(lock), *base, *PEERS]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        print(f"peers: pip install failed ({done.returncode}), peers skipped:\n{tail}")
        return None
    stamp.write_text(want)
    print(f"peers: installed in {time.perf_counter() - t0:.0f} s")
    return python


# ------------------------------------------------------------------------------- the parent


def _run_case(python: Path, spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    name = f"{spec['lib']}-{spec['learner']}"
    spec = {**spec, "scores": str(folder / f"{name}.npy"), "result": str(folder / f"{name}.json")}
    spec_file = folder / f"{name}-spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [str(python), str(Path(__file__).resolve()), "--child", str(spec_file)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"error": last}
    import numpy as np

    res = json.loads(Path(spec["result"]).read_text())
    res["score"] = np.load(spec["scores"])
    return res


def _data(n: int, seed: int, folder: Path) -> tuple[Path, Any, Any, Any]:
    """Simulate, split in halves, save the arrays; return the file and the held-out truth."""
    import numpy as np

    from workbench.uplift.simulate import simulate_uplift

    X, y, t, tau = simulate_uplift(n, seed=seed)
    Xn = X.assign(device=X["device"].cat.codes.astype(float)).to_numpy(float)
    test = np.random.default_rng(seed + 1).permutation(n) < n // 2
    path = folder / "data.npz"
    np.savez(path, X_train=Xn[~test], y_train=y[~test], t_train=t[~test], X_test=Xn[test])
    return path, y[test], t[test], tau[test]


def _uplift_at(ev: dict[str, Any], k: float) -> float:
    """The uplift of the top share ``k`` from :func:`metrics.evaluate`'s ``uplift_at``."""
    at = ev["uplift_at"]
    if isinstance(at, dict):
        for key, value in at.items():
            if abs(float(key) - k) < 1e-9:
                return float(value)
    raise KeyError(k)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, one case of it).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="100000,1000000", help="sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peers", action="store_true", help="our learners only")
    ap.add_argument("--threads", type=int, default=1, help="threads per fit; 0: all (1)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    import numpy as np

    from workbench.uplift import metrics

    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the children
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    threads = args.threads or "all"
    print(f"load average at start: {load} ({os.cpu_count()} cores; threads per fit: {threads})")
    hgb = base_settings()
    print(
        "base model of every learner: HistGradientBoosting("
        + ", ".join(f"{k}={v}" for k, v in hgb.items())
        + ")"
    )
    peers = None if args.no_peers else peer_python()
    sizes = [int(s) for s in args.rows.split(",") if s]
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            data, y_te, t_te, tau_te = _data(n, args.seed, folder)
            base_rate = y_te[t_te == 0].mean()
            print(f"\n{n:,} rows ({n - n // 2:,} to fit, {n // 2:,} held out); held-out true "
                  f"mean uplift {tau_te.mean():.4f}, base rate {base_rate:.4f}")  # fmt: skip
            print(f"{'library':<10} {'learner':<23} {'fit s':>7} {'score s':>7} {'peak MB':>7} "
                  f"{'base MB':>7} {'AUUC':>7} {'Qini':>7} {'up@30%':>7} {'RMSE':>7} "
                  f"{'fit/ours':>8}")  # fmt: skip
            ours: dict[str, float] = {}
            for lib, learner, label in CASES:
                if lib != "workbench" and peers is None:
                    continue
                if learner == "drc" and n != min(sizes):
                    continue  # the shipped DR classifier, on the smallest size only
                python = Path(sys.executable) if lib == "workbench" else peers
                spec = {"lib": lib, "learner": learner, "seed": args.seed, "data": str(data)}
                spec["hgb"] = hgb
                r = _run_case(python, spec, folder)
                if "error" in r:
                    print(f"{lib:<10} {label:<23} failed: {r['error']}")
                    continue
                s = r["score"]
                ev = metrics.evaluate(y_te, t_te, s)
                rmse = float(np.sqrt(np.mean((s - tau_te) ** 2)))
                # ratio to our learner of the same kind without oof_uplift_
                kind = {"drc": "dr"}.get(learner, learner).split("+")[0]
                ratio = f"{r['fit_s'] / ours[kind]:>7.2f}x" if kind in ours else ""
                if lib == "workbench" and learner == kind:
                    ours[kind] = r["fit_s"]
                print(f"{lib:<10} {label:<23} {r['fit_s']:>7.1f} {r['predict_s']:>7.1f} "
                      f"{r['peak_mb']:>7.0f} {r['base_mb']:>7.0f} {ev['auuc']:>7.4f} "
                      f"{ev['qini_coefficient']:>7.4f} {_uplift_at(ev, 0.3):>7.4f} {rmse:>7.4f} "
                      f"{ratio:>8}")  # fmt: skip
                if lib != "workbench" and r["sklearn"] != _sklearn_version():
                    print(f"  note: the peer ran scikit-learn {r['sklearn']}, ours "
                          f"{_sklearn_version()}")  # fmt: skip
    with open("/proc/loadavg") as f:
        print(f"\nload average at end: {f.read().split()[0]}")
    return 0


def _sklearn_version() -> str:
    from importlib.metadata import version

    return version("scikit-learn")


if __name__ == "__main__":
    raise SystemExit(main())
