"""Benchmark the engines (issue 20): DuckDB against local Spark on one world, step by step.

Usage::

    python benchmarks/bench_engine.py                          # 10,000,000 subscribers
    python benchmarks/bench_engine.py --subscribers 200000     # a quick run
    python benchmarks/bench_engine.py --engines duckdb --world datasets/generated/large-n1000000-s0
    python benchmarks/bench_engine.py --spark-memory 12g --timeout 2700 --keep

1. A world of N subscribers (scenario ``large``, seed 0) is generated as Parquet parts in a
   child process, or reused: ``--world DIR``, or the cached
   ``datasets/generated/bench-engine-<N>-v<generator version>/`` when it is complete and made by
   this generator version. Prints its wall time, rows and peak RSS.
2. Each engine (DuckDB, then Spark in ``local[*]``) runs in its own child process, so that its
   peak memory is its own (Spark's JVM and Python workers are in the child's process tree):
   a. **features**: the feature table of every subscriber written to Parquet where the engine
      runs (``Engine.write_parquet``);
   b. **assignment**: ``segment_in_engine(world, engine, k=6, sample_size=20000)`` (k fixed so
      that model selection does not dominate), with its own breakdown;
   c. **paths**: ``path_aggregates(world, engine)``.
   Opening the world (the contract checks) and starting Spark are timed apart.
3. The results of the engines are compared: feature rows (and every value, relative 1e-9),
   segment assignments (identical), path tables (counts exact, values relative 1e-9).
4. Prints a table step | seconds | ratio | peak RSS, and the per-row costs
   (core-seconds per million event rows = wall x cores / (email_events + touchpoints)), with
   the machine: cores, load average, git revision.

Peak RSS is the largest *sum* over a child's process tree, sampled every 0.1 s with psutil; CPU
seconds are the tree's user + system time, summed per step. The machine may be shared: the load
average is printed at the start, the end and its maximum during each engine. A step running
longer than ``--timeout`` seconds (default 2700: 45 min) is killed and reported as unfinished.
Spark's driver memory (local mode: executors included) is ``--spark-memory``, default 12g,
passed as ``WORKBENCH_SPARK_MEMORY``. Benchmarks print measured figures; there are no
assertions. Without PySpark or Java only DuckDB runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("start", "open", "features", "assignment", "paths")
K = 6
SAMPLE = 20_000


# ------------------------------------------------------------------------------ measurements


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _git_rev() -> str:
    """The checked-out commit, read from .git (no git command)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        if (git / ref).is_file():
            return f"{(git / ref).read_text().strip()[:12]} ({ref.rsplit('/', 1)[-1]})"
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return f"{line.split()[0][:12]} ({ref.rsplit('/', 1)[-1]})"
    except OSError:
        pass
    return "unknown"


class TreeMonitor:
    """Sample a child's process tree: peak RSS (sum) and CPU seconds, per step.

    The child names its current step in ``step_file``; every 0.1 s the tree's resident memory
    is summed and the CPU time used since the last sample is added to the current step.
    """

    def __init__(self, proc: psutil.Popen, step_file: Path | None = None) -> None:
        self.proc = proc
        self.step_file = step_file
        self.peak: dict[str, int] = {}
        self.cpu: dict[str, float] = {}
        self.max_load = 0.0
        self._seen: dict[tuple[int, float], float] = {}

    def _step(self) -> str:
        if self.step_file is None:
            return "all"
        try:
            return self.step_file.read_text().strip() or "start"
        except OSError:
            return "start"

    def sample(self) -> None:
        step = self._step()
        rss = 0
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    key = (p.pid, p.create_time())
            except psutil.Error:
                continue
            used = t.user + t.system
            self.cpu[step] = self.cpu.get(step, 0.0) + used - self._seen.get(key, 0.0)
            self._seen[key] = used
        self.peak[step] = max(self.peak.get(step, 0), rss)
        self.max_load = max(self.max_load, os.getloadavg()[0])

    def run(self, step_timeout: float | None = None) -> bool:
        """Sample until the child exits; False (and the tree killed) when one step (as named
        in the step file) has run longer than ``step_timeout`` seconds."""
        since, current = time.perf_counter(), self._step()
        while self.proc.poll() is None:
            self.sample()
            step = self._step()
            if step != current:
                since, current = time.perf_counter(), step
            elif step_timeout is not None and time.perf_counter() - since > step_timeout:
                _kill_tree(self.proc)
                return False
            time.sleep(0.1)
        return True

    @property
    def total_peak(self) -> int:
        return max(self.peak.values(), default=0)


def _kill_tree(proc: psutil.Popen) -> None:
    """End the child this script started and its descendants (by pid)."""
    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        kids = []
    for p in [proc, *kids]:
        try:
            p.kill()
        except psutil.Error:
            pass
    proc.wait()


# ---------------------------------------------------------------------------------- children


def _child(engine: str, world: str, tmp: str) -> None:
    """Run the steps of one engine; results go to ``tmp/<engine>.json`` after every step."""

    from workbench.attribution.aggregate import path_aggregates
    from workbench.engine import open_engine, spark_session
    from workbench.features import feature_query, resolve_as_of
    from workbench.segment.scale import segment_in_engine

    out = Path(tmp)
    step_file = out / f"{engine}.step"
    res: dict[str, object] = {"engine": engine, "seconds": {}}
    seconds: dict[str, float] = res["seconds"]  # type: ignore[assignment]

    def step(name: str) -> float:
        step_file.write_text(name)
        print(f"  [{engine}] {name} ... (load {_load()})", flush=True)
        return time.perf_counter()

    def done(name: str, t0: float) -> None:
        seconds[name] = time.perf_counter() - t0
        (out / f"{engine}.json").write_text(json.dumps(res))
        print(f"  [{engine}] {name} {seconds[name]:.1f} s", flush=True)

    t0 = step("start")
    if engine == "spark":
        spark = spark_session()
        res["spark_version"] = spark.version
        res["spark_memory"] = spark.sparkContext.getConf().get("spark.driver.memory")
        res["spark_master"] = spark.sparkContext.master
    done("start", t0)

    t0 = step("open")
    with open_engine(world, engine) as eng:
        as_of = resolve_as_of(eng, None)
        done("open", t0)
        t0 = step("features")
        sql, _ = feature_query(eng, as_of)
        eng.write_parquet(sql, out / f"features-{engine}.parquet")
        done("features", t0)
    res["as_of"] = as_of.isoformat()

    t0 = step("assignment")
    seg = segment_in_engine(world, engine, k=K, sample_size=SAMPLE, seed=0)
    done("assignment", t0)
    res["assignment"] = dict(seg.seconds)
    res["n_sample"] = seg.n_sample
    res["n_subscribers"] = seg.n_subscribers
    res["n_segments"] = int(seg.segments["segment"].nunique())
    seg.segments[["subscriber_id", "segment"]].to_parquet(out / f"segments-{engine}.parquet")
    del seg

    t0 = step("paths")
    paths = path_aggregates(world, engine)
    done("paths", t0)
    res["n_paths"] = len(paths)
    paths.to_parquet(out / f"paths-{engine}.parquet")
    step_file.write_text("end")
    (out / f"{engine}.json").write_text(json.dumps(res))


def _generate_child(n: int, seed: int, out: str) -> None:
    from workbench.synth import generate_world

    t = time.perf_counter()
    generate_world("large", n_subscribers=n, seed=seed, out=out, overwrite=Path(out).exists())
    print(json.dumps({"wall": time.perf_counter() - t}), flush=True)


# ------------------------------------------------------------------------------------ parent


def _world(args: argparse.Namespace) -> tuple[Path, dict[str, int]]:
    """The world folder (generated in a child process unless given or cached) and its rows."""
    from workbench.paths import generated_dir
    from workbench.synth.cache import is_current
    from workbench.synth.generate import GENERATOR_VERSION

    if args.world:
        world = Path(args.world)
        print(f"world: {world} (given)")
    else:
        world = generated_dir() / f"bench-engine-{args.subscribers}-v{GENERATOR_VERSION}"
        if is_current(world):
            print(f"world: {world} (cached, generator {GENERATOR_VERSION})")
        else:
            print(f"world: generating {args.subscribers:,} subscribers into {world}", flush=True)
            print(
                f"  disk before: {shutil.disk_usage(world.parent.parent).free / 2**30:.0f} GB free"
            )
            world.parent.mkdir(parents=True, exist_ok=True)
            cmd = [
                sys.executable,
                __file__,
                "--generate-child",
                str(args.subscribers),
                str(args.seed),
                str(world),
            ]
            proc = psutil.Popen(cmd, stdout=subprocess.PIPE, text=True)
            mon = TreeMonitor(proc)
            mon.run()
            stdout = proc.stdout.read() if proc.stdout else ""
            if proc.returncode:
                raise SystemExit(f"generation of {args.subscribers:,} subscribers failed")
            wall = json.loads(stdout.strip().splitlines()[-1])["wall"]
            meta = json.loads((world / "world.json").read_text())
            rows = meta["rows"]
            ev = rows["email_events"] + rows["touchpoints"]
            size = sum(f.stat().st_size for f in world.rglob("*") if f.is_file())
            print(
                f"  generated in {wall:.1f} s: {ev:,} email_events + touchpoints rows "
                f"({ev / wall:,.0f} /s), peak RSS of the process tree "
                f"{mon.total_peak / 2**30:.2f} GB, {mon.cpu.get('all', 0):.0f} CPU s, "
                f"{size / 2**30:.1f} GB on disk, max load {mon.max_load:.2f}"
            )
    meta = json.loads((world / "world.json").read_text())
    return world, meta["rows"]


def _spark_available() -> str | None:
    """Why Spark cannot run here, or None."""
    for mod in ("pyspark", "sqlglot"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
        return "no Java runtime (java not on PATH, no JAVA_HOME)"
    return None


def _run_engine(engine: str, world: Path, tmp: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    if engine == "spark":
        env["WORKBENCH_SPARK_MEMORY"] = args.spark_memory
    log = tmp / f"{engine}.log"
    cmd = [sys.executable, __file__, "--child", engine, str(world), str(tmp)]
    load0 = _load()
    t = time.perf_counter()
    with open(log, "w") as err:
        proc = psutil.Popen(cmd, stderr=err, env=env, cwd=ROOT)
        mon = TreeMonitor(proc, tmp / f"{engine}.step")
        finished = mon.run(args.timeout)
    wall = time.perf_counter() - t
    res_file = tmp / f"{engine}.json"
    res = json.loads(res_file.read_text()) if res_file.is_file() else {"seconds": {}}
    res.update(peak=mon.peak, cpu=mon.cpu, max_load=mon.max_load, load0=load0, load1=_load())
    res["ok"] = finished and proc.returncode == 0
    res["wall"] = wall
    if not finished:
        res["error"] = f"step {mon._step()!r} killed after {args.timeout:.0f} s (--timeout)"
    elif proc.returncode:
        tail = log.read_text().strip().splitlines()[-15:]
        res["error"] = f"exit {proc.returncode}:\n    " + "\n    ".join(tail)
    if not res["ok"]:
        print(f"  [{engine}] FAILED: {res['error']}", flush=True)
    return res


def _compare(tmp: Path, engines: list[str], results: dict[str, dict]) -> None:
    """Print whether the engines gave the same features, segments and paths."""
    import duckdb
    import numpy as np
    import pandas as pd

    a, b = engines[0], engines[1]
    print(f"\nagreement of {a} and {b}:")
    fa, fb = tmp / f"features-{a}.parquet", tmp / f"features-{b}.parquet"
    if fa.exists() and fb.exists():
        con = duckdb.connect()
        con.execute("SET threads = 2")

        def src(p: Path) -> str:
            return f"read_parquet('{p}/*.parquet')" if p.is_dir() else f"read_parquet('{p}')"

        na = con.execute(f"SELECT count(*) FROM {src(fa)}").fetchone()[0]
        nb = con.execute(f"SELECT count(*) FROM {src(fb)}").fetchone()[0]
        cols = con.execute(f"DESCRIBE SELECT * FROM {src(fa)}").fetchall()
        colsb = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src(fb)}").fetchall()}
        print(f"  feature rows: {a} {na:,}, {b} {nb:,} -> {'same' if na == nb else 'DIFFERENT'}")
        missing = [c for c, *_ in cols if c not in colsb]
        if missing or len(colsb) != len(cols):
            print(f"  feature columns DIFFER: {len(cols)} vs {len(colsb)}; only in {a}: {missing}")
        exprs = []
        for name, typ, *_ in cols:
            if name == "subscriber_id" or name not in colsb:
                continue
            x, y = f'x."{name}"', f'y."{name}"'
            if typ.startswith(("DOUBLE", "FLOAT", "DECIMAL")):
                ok = (
                    f"({x} IS NOT DISTINCT FROM {y} OR abs({x} - {y}) <= "
                    f"1e-9 * greatest(abs({x}), abs({y})) OR (isnan({x}) AND isnan({y})))"
                )
            else:
                ok = f"({x} IS NOT DISTINCT FROM CAST({y} AS {typ}))"
            exprs.append(f'count(*) FILTER (WHERE NOT {ok}) AS "{name}"')
        q = (
            f"SELECT count(*) AS joined, {', '.join(exprs)} FROM {src(fa)} x "
            f"JOIN {src(fb)} y USING (subscriber_id)"
        )
        row = con.execute(q).fetchone()
        names = [d[0] for d in con.description]
        bad = {n: v for n, v in zip(names[1:], row[1:], strict=True) if v}
        print(
            f"  feature values: {row[0]:,} subscribers in both, {len(exprs)} columns compared "
            f"(floats within relative 1e-9): "
            + ("identical" if not bad and row[0] == na == nb else f"DIFFER in {bad}")
        )
        con.close()
    else:
        print("  feature tables: not both written")

    sa, sb = tmp / f"segments-{a}.parquet", tmp / f"segments-{b}.parquet"
    if sa.exists() and sb.exists():
        xa = pd.read_parquet(sa).sort_values("subscriber_id")
        xb = pd.read_parquet(sb).sort_values("subscriber_id")
        same_ids = len(xa) == len(xb) and np.array_equal(
            xa["subscriber_id"].to_numpy(), xb["subscriber_id"].to_numpy()
        )
        ns = (results[a].get("n_sample"), results[b].get("n_sample"))
        if same_ids:
            diff = int((xa["segment"].to_numpy() != xb["segment"].to_numpy()).sum())
            verdict = "identical" if diff == 0 else f"DIFFER for {diff:,} subscribers"
            print(
                f"  segments: {len(xa):,} subscribers, samples of {ns[0]:,} / {ns[1]:,}: {verdict}"
            )
            if diff:
                print(
                    pd.crosstab(
                        xa["segment"].to_numpy(),
                        xb["segment"].to_numpy(),
                        rownames=[a],
                        colnames=[b],
                    ).to_string()
                )
        else:
            print(f"  segments: DIFFERENT subscribers ({len(xa):,} vs {len(xb):,})")
        del xa, xb
    else:
        print("  segments: not both computed")

    pa_, pb_ = tmp / f"paths-{a}.parquet", tmp / f"paths-{b}.parquet"
    if pa_.exists() and pb_.exists():
        x, y = pd.read_parquet(pa_), pd.read_parquet(pb_)
        m = x.merge(y, on="path", how="outer", suffixes=("_a", "_b"), indicator=True)
        only = int((m["_merge"] != "both").sum())
        both = m[m["_merge"] == "both"]
        counts = sum(
            int((both[f"{c}_a"] != both[f"{c}_b"]).sum())
            for c in ("total_conversions", "total_null")
        )
        va, vb = both["total_conversion_value_a"], both["total_conversion_value_b"]
        rel = ((va - vb).abs() / np.maximum(va.abs(), vb.abs()).clip(lower=1e-300)).fillna(0.0)
        vals = int((rel > 1e-9).sum())
        ok = only == 0 and counts == 0 and vals == 0
        print(
            f"  paths: {len(x):,} / {len(y):,} distinct paths; "
            + (
                "identical (counts exact, values within relative 1e-9; max relative "
                f"difference {rel.max():.1e})"
                if ok
                else f"DIFFER: {only} paths in one only, {counts} count cells, {vals} value cells "
                f"(max relative difference {rel.max():.1e})"
            )
        )
    else:
        print("  paths: not both computed")


def _report(engines: list[str], results: dict[str, dict], rows: dict[str, int]) -> None:
    cores = os.cpu_count() or 1
    ev = rows["email_events"] + rows["touchpoints"]
    print(
        f"\nwall seconds per step ({rows['subscribers']:,} subscribers, "
        f"{ev:,} email_events + touchpoints rows); peak RSS of the process tree in GB"
    )
    head = f"{'step':<24}"
    for e in engines:
        head += f" {e + ' s':>10}"
    if len(engines) == 2:
        head += f" {engines[1] + '/' + engines[0]:>13}"
    for e in engines:
        head += f" {'RSS ' + e:>12}"
    print(head)
    print("-" * len(head))

    def line(label: str, vals: list[float | None], peaks: list[float | None]) -> None:
        s = f"{label:<24}"
        for v in vals:
            s += f" {v:>10.1f}" if v is not None else f" {'-':>10}"
        if len(vals) == 2:
            ok = None not in vals and vals[0] and vals[0] >= 0.05
            s += f" {vals[1] / vals[0]:>13.2f}" if ok else f" {'-':>13}"  # type: ignore[operator]
        for p in peaks:
            s += f" {p:>12.2f}" if p is not None else f" {'':>12}"
        print(s)

    def sec(e: str, step: str) -> float | None:
        return results[e]["seconds"].get(step)

    def peak(e: str, step: str) -> float | None:
        v = results[e]["peak"].get(step)
        return v / 2**30 if v is not None else None

    for step in STEPS:
        line(step, [sec(e, step) for e in engines], [peak(e, step) for e in engines])
        if step == "assignment":
            for part in ("features", "sample", "fit", "assign"):
                line(
                    f"  {part}",
                    [results[e].get("assignment", {}).get(part) for e in engines],
                    [None] * len(engines),
                )
    line(
        "total (child wall)",
        [results[e]["wall"] for e in engines],
        [results[e]["peak"] and max(results[e]["peak"].values()) / 2**30 for e in engines],
    )

    print("\nthroughput:")
    for e in engines:
        r, s = results[e], results[e]["seconds"]
        parts = []
        if "features" in s:
            parts.append(f"features {rows['subscribers'] / s['features']:,.0f} subscribers/s")
        if "assignment" in s:
            parts.append(f"assignment {rows['subscribers'] / s['assignment']:,.0f} subscribers/s")
        if "paths" in s:
            parts.append(
                f"paths {r.get('n_paths', 0):,} distinct, "
                f"{rows['touchpoints'] / s['paths']:,.0f} touchpoints/s"
            )
        print(f"  {e:<7} " + "; ".join(parts))

    print(
        f"\nper-row cost: core-seconds per million event rows = wall x {cores} cores / "
        f"{ev / 1e6:,.1f}M rows (email_events + touchpoints); in brackets the measured CPU "
        "seconds of the process tree per million rows"
    )
    head = f"{'step':<24}" + "".join(f" {e:>20}" for e in engines)
    print(head)
    print("-" * len(head))
    for step in ("open", "features", "assignment", "paths"):
        s = f"{step:<24}"
        for e in engines:
            w = results[e]["seconds"].get(step)
            c = results[e]["cpu"].get(step)
            if w is None:
                s += f" {'-':>20}"
            else:
                s += f" {w * cores / ev * 1e6:>10.3f} [{(c or 0) / ev * 1e6:>7.3f}]"
        print(s)
    s = f"{'features+assign+paths':<24}"
    for e in engines:
        sc = results[e]["seconds"]
        if all(k in sc for k in ("features", "assignment", "paths")):
            w = sc["features"] + sc["assignment"] + sc["paths"]
            c = sum(results[e]["cpu"].get(k, 0) for k in ("features", "assignment", "paths"))
            s += f" {w * cores / ev * 1e6:>10.3f} [{c / ev * 1e6:>7.3f}]"
        else:
            s += f" {'-':>20}"
    print(s)


def main(argv: list[str] | None = None) -> None:
    """Generate or reuse the world, run each engine in a child process, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    ap.add_argument(
        "--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"]
    )
    ap.add_argument("--world", help="an existing world folder (default: cached or generated)")
    ap.add_argument("--keep", action="store_true", help="keep the outputs (features, segments)")
    ap.add_argument("--tmp", help="folder of the outputs (default: a new one under /tmp)")
    ap.add_argument(
        "--spark-memory",
        default=os.environ.get("WORKBENCH_SPARK_MEMORY", "12g"),
        help="Spark driver memory (local mode: the whole JVM), default 12g",
    )
    ap.add_argument(
        "--timeout", type=float, default=2700.0, help="seconds allowed per step (default 2700)"
    )
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--generate-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
    if args.generate_child:
        n, seed, out = args.generate_child
        _generate_child(int(n), int(seed), out)
        return

    cores = os.cpu_count() or 1
    mem = psutil.virtual_memory().total / 2**30
    print(
        f"machine: {cores} cores, {mem:.0f} GiB RAM, load average {_load()} at start; "
        f"git {_git_rev()}; python {sys.version.split()[0]}"
    )
    engines = list(dict.fromkeys(args.engines))
    if "spark" in engines:
        why = _spark_available()
        if why:
            print(f"Spark is unavailable ({why}): running DuckDB only")
            engines = [e for e in engines if e != "spark"]
        else:
            import pyspark

            print(
                f"Spark {pyspark.__version__} local[*], driver memory {args.spark_memory} "
                "(WORKBENCH_SPARK_MEMORY)"
            )
    import duckdb

    print(f"DuckDB {duckdb.__version__}")
    t_all = time.perf_counter()
    world, rows = _world(args)
    ev = rows["email_events"] + rows["touchpoints"]
    print(
        f"  {rows['subscribers']:,} subscribers, {rows['email_events']:,} email_events, "
        f"{rows['touchpoints']:,} touchpoints, {rows['orders']:,} orders ({ev:,} event rows)"
    )

    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="bench-engine-", dir="/tmp"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"outputs in {tmp}; free disk there {shutil.disk_usage(tmp).free / 2**30:.0f} GB")
    results: dict[str, dict] = {}
    try:
        for e in engines:
            print(f"\n{e}: load average {_load()}", flush=True)
            results[e] = _run_engine(e, world, tmp, args)
            r = results[e]
            extra = ""
            if e == "spark" and "spark_version" in r:
                extra = (
                    f"; Spark {r['spark_version']} {r['spark_master']}, driver memory "
                    f"{r['spark_memory']}"
                )
            print(
                f"  [{e}] done in {r['wall']:.0f} s; load average {r['load0']} -> {r['load1']}, "
                f"max 1-min load {r['max_load']:.2f}{extra}"
            )
        if len(engines) == 2:
            _compare(tmp, engines, results)
        _report(engines, results, rows)
        failed = [e for e in engines if not results[e]["ok"]]
        for e in failed:
            done = ", ".join(results[e]["seconds"]) or "nothing"
            print(f"\n{e} did not finish: {results[e]['error']}\n  finished steps: {done}")
        print(f"\nload average {_load()} at the end; whole run {time.perf_counter() - t_all:.0f} s")
    finally:
        if not args.keep and not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        elif args.keep:
            print(f"outputs kept in {tmp}")


if __name__ == "__main__":
    main()
