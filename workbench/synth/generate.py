"""Write a synthetic world: chunks of subscribers simulated independently and streamed to Parquet.

Layout rule
-----------
Per-subscriber tables (``subscribers``, ``email_events``, ``touchpoints``, ``orders``,
``assignments``, ``truth_subscribers``, ``truth_lifecycle``) get one Parquet part per chunk of
``scenario.chunk_size`` subscribers. A world of one chunk stores each as ``NAME.parquet``; a world
of more than one chunk stores each as a folder ``NAME/part-00000.parquet``, ``part-00001`` ...
Small tables (``campaigns``, ``experiments``, ``truth_effects``, ``truth_channels``) are always
single files.

Determinism
-----------
Chunk ``k`` draws from ``np.random.default_rng(np.random.SeedSequence(seed).spawn(K)[k])``, and
its dropouts and holdout orders from a second stream on the same seed sequence with the spawn key
``(k, LIFETIME_STREAM)`` (:func:`workbench.synth.simulate.lifetime_rng`); rows are sorted within
each part (by subscriber, then time); files are written by pyarrow directly (no pandas metadata)
with zstd level 1, dictionary encoding of category strings only, delta encoding of sorted ids and
times, and fixed row groups; ``world.json`` holds no clock time. Same scenario and seed give
byte-identical files.

Truth
-----
``world.json`` records only what a user of the world may know (the scenario without its personas,
their shares, true lifts or holdout length; the analysis tables' row counts). The scenario as
simulated, the length of the holdout after the period (``holdout_days``, top level) and the truth
tables' row counts go to ``truth_scenario.json``, which only :func:`workbench.truth.load_truth`
reads. ``truth_subscribers`` holds, besides the persona and latent traits, each subscriber's true
dropout (``dropout_ts``, ``alive_at_end``) and holdout orders (``holdout_orders``,
``holdout_revenue``, ``expected_holdout_orders``; see :mod:`workbench.synth.simulate`).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import workbench
from workbench._io import atomic_dir
from workbench.schema import TABLES
from workbench.synth.calendar import Calendar, build_calendar, cadence_weekdays
from workbench.synth.personas import ACQUISITION_SOURCES, PRODUCT_CATEGORIES, REGIONS
from workbench.synth.scenario import WEEKDAYS, Scenario, load_scenario
from workbench.synth.simulate import (
    EFFECT_CHANNELS,
    EVENT_CODES,
    INTERACTIONS,
    STAGES,
    TOUCH_CHANNELS,
    ChunkResult,
    ChunkSimulator,
)
from workbench.truth import TRUTH_FILE, public_scenario

#: Bumped whenever the same scenario and seed would give different data.
GENERATOR_VERSION = "1.7"
PART_TABLES = (
    "subscribers",
    "email_events",
    "touchpoints",
    "orders",
    "assignments",
    "truth_subscribers",
    "truth_lifecycle",
    "truth_responses",
)
ROW_GROUP = 1 << 20
ZSTD_LEVEL = 1
_DELTA_COLUMNS = ("subscriber_id", "ts", "order_id")
_US = 1_000_000


def generate_world(
    scenario: str | Path | Scenario = "tiny",
    *,
    n_subscribers: int | None = None,
    seed: int = 0,
    out: str | Path,
    overwrite: bool = False,
    progress: bool = False,
    workers: int | None = None,
) -> Path:
    """Simulate a world and write it to ``out`` (appears only once complete).

    Parameters
    ----------
    scenario : str, Path or Scenario, default "tiny"
        Built-in scenario name (:data:`~workbench.synth.SCENARIOS`), TOML file, or a Scenario.
    n_subscribers : int, optional
        Overrides the scenario's number of subscribers.
    seed : int, default 0
        Seed of every random draw; same scenario and seed give byte-identical files.
    out : path
        The world folder to create.
    overwrite : bool, default False
        Replace an existing non-empty ``out``, which must be a world (hold ``world.json``):
        any other folder keeps its files and is an error.
    progress : bool, default False
        Show a tqdm progress bar over chunks on stderr.
    workers : int, optional
        Processes simulating chunks in parallel (default: up to 2 when there are several
        chunks, 1 otherwise). Output does not depend on it.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    WorkbenchError
        Invalid scenario, invalid size, ``out`` is a file, or ``out`` is a non-empty folder and
        ``overwrite`` is false or it is not a world.

    Notes
    -----
    The world is written into a hidden ``.NAME.partial-*`` folder beside ``out`` and renamed
    into place once complete. On any error or interruption (``KeyboardInterrupt``, or SIGTERM
    under the command line) the worker processes are stopped and the partial folder removed.
    """
    sc = _sized_scenario(scenario, n_subscribers)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise workbench.WorkbenchError(f"seed must be a non-negative integer, got {seed!r}")
    cal = build_calendar(sc)
    n_chunks = math.ceil(sc.n_subscribers / sc.chunk_size)
    seeds = np.random.SeedSequence(int(seed)).spawn(n_chunks)
    workers = _workers(n_chunks) if workers is None else max(1, int(workers))
    with atomic_dir(out, overwrite, marker="world.json", kind="world") as tmp:
        writer = _WorldWriter(tmp, sc, cal, n_chunks)
        jobs = [(tmp, sc, cal, n_chunks, k, seeds[k]) for k in range(n_chunks)]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_chunks, desc=f"generate {sc.name}", unit="chunk", file=sys.stderr)
        _run_chunks(jobs, writer, workers, bar)
        if bar is not None:
            bar.close()
        writer.finish(int(seed))
    return Path(out)


def _sized_scenario(scenario: str | Path | Scenario, n_subscribers: int | None) -> Scenario:
    """The scenario loaded, with its number of subscribers replaced if one is given."""
    sc = load_scenario(scenario)
    if n_subscribers is None:
        return sc
    if isinstance(n_subscribers, bool) or int(n_subscribers) < 1:
        raise workbench.WorkbenchError(f"n_subscribers must be >= 1, got {n_subscribers!r}")
    return Scenario(**{**sc.__dict__, "n_subscribers": int(n_subscribers)})


def _run_chunks(jobs: list[tuple], writer: _WorldWriter, workers: int, bar: Any) -> None:
    """Simulate every chunk (in ``workers`` spawned processes if > 1); merge them in order."""
    if workers <= 1:
        for job in jobs:
            writer.merge(_chunk_job(job))
            if bar is not None:
                bar.update()
        return
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
    try:
        for summary in pool.map(_chunk_job, jobs):
            writer.merge(summary)
            if bar is not None:
                bar.update()
    except BaseException:
        # stop the workers before the partial folder they write into is removed
        _stop_pool(pool)
        raise
    pool.shutdown()


def _workers(n_chunks: int) -> int:
    if n_chunks < 4:
        return 1
    return max(
        1,
        min(
            2,
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1),
        ),
    )


_IN_JOB = False
_STOP = False


class _Stopped(KeyboardInterrupt):
    """A worker was asked to stop (SIGTERM from the parent, or from the user's shell)."""


def _worker_init() -> None:
    """Set up a worker process's signals.

    SIGINT is left to the parent (a terminal's Ctrl-C reaches the whole group): the parent
    stops the workers, and one interruption prints one line, not a traceback per worker.
    SIGTERM stops the running chunk, but never while its result is being sent back: a worker
    killed halfway through a message leaves the pool's result reader waiting for the rest of it
    for ever (and the interpreter's exit waits on that reader).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


def _worker_stop(signum: int, frame: object) -> None:
    global _STOP
    _STOP = True
    if _IN_JOB:
        raise _Stopped()


def _stop_pool(pool: ProcessPoolExecutor, timeout: float = 10.0) -> None:
    """Stop a process pool now: cancel the queued chunks and stop the running ones.

    Each worker gets SIGTERM, which ends its chunk (see :func:`_worker_init`) and lets it exit
    normally; one that has not exited after ``timeout`` seconds is killed.
    """
    # the executor's worker processes: a private mapping (pid -> Process), hence the guard
    procs = list((getattr(pool, "_processes", None) or {}).values())
    if not procs:  # unknown internals: wait for the running chunks instead
        pool.shutdown(wait=True, cancel_futures=True)
        return
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()


def _chunk_job(job: tuple[Path, Scenario, Calendar, int, int, np.random.SeedSequence]) -> dict:
    """Simulate chunk ``k`` and write its parts; return its row counts and truth accumulators."""
    global _IN_JOB
    if _STOP:
        raise _Stopped()
    _IN_JOB = True
    try:
        return _simulate_chunk(job)
    finally:
        _IN_JOB = False


def _simulate_chunk(job: tuple[Path, Scenario, Calendar, int, int, np.random.SeedSequence]) -> dict:
    """The work of :func:`_chunk_job`."""
    root, sc, cal, n_chunks, k, ss = job
    sid0 = k * sc.chunk_size
    n = min(sc.chunk_size, sc.n_subscribers - sid0)
    res = ChunkSimulator(sc, cal, sid0 + 1, n, np.random.default_rng(ss)).run()
    writer = _WorldWriter(root, sc, cal, n_chunks, make_dirs=False)
    writer.write_chunk(k, res)
    return {
        "rows": writer.rows,
        "effects": res.effects,
        "channels": res.channels,
        "flow_first": res.flow_first,
    }


def _schema(name: str, skip: tuple[str, ...] = ()) -> pa.Schema:
    """The contract's Arrow schema of a table, without the optional columns in ``skip``."""
    t = TABLES[name]
    return t.arrow_schema([c for c in t.column_names if c not in skip])


def _ts(seconds: np.ndarray, null_below: int | None = None) -> pa.Array:
    us = seconds.astype(np.int64) * _US
    mask = None if null_below is None else seconds <= null_below
    return pa.array(us, type=pa.timestamp("us", tz="UTC"), mask=mask)


def _cat(codes: np.ndarray, names: tuple[str, ...] | list[str], null: bool = False) -> pa.Array:
    """Strings from small integer codes (``-1`` = null when ``null``)."""
    dictionary = pa.array(list(names), pa.string())
    idx = pa.array(codes.astype(np.int32), mask=(codes < 0) if null else None)
    return dictionary.take(idx)


def _emails(ids: np.ndarray) -> pa.Array:
    """Synthetic addresses ``subscriber-<id>@example.com`` (a domain reserved by RFC 2606)."""
    return pc.binary_join_element_wise(
        "subscriber-", pc.cast(pa.array(ids), pa.string()), "@example.com", ""
    )


def _order(*keys: np.ndarray) -> np.ndarray:
    """Row order by ``keys`` (most significant first) via one packed int64 key."""
    if keys[0].size == 0:
        return np.empty(0, np.int64)
    packed = np.zeros(keys[0].size, np.int64)
    for k in keys:
        lo = int(k.min())
        span = int(k.max()) - lo + 1
        packed = packed * span + (k.astype(np.int64) - lo)
    return np.argsort(packed)


class _WorldWriter:
    """Streams chunk results to Parquet parts and accumulates the small tables."""

    def __init__(
        self, root: Path, sc: Scenario, cal: Calendar, n_chunks: int, make_dirs: bool = True
    ) -> None:
        self.root, self.sc, self.cal, self.n_chunks = root, sc, cal, n_chunks
        self.rows: dict[str, int] = {}
        self.effects: np.ndarray | None = None
        self.channels = np.zeros((len(EFFECT_CHANNELS) + 1, 4))
        self.flow_first: dict[int, int] = {}
        self.pnames = list(sc.shares)
        self.variants: list[str] = []
        for e in cal.experiments:
            self.variants += [a for a in e.arms if a not in self.variants]
        if n_chunks > 1 and make_dirs:
            for t in PART_TABLES:
                (root / t).mkdir()

    def _write(self, name: str, table: pa.Table, part: int | None = None) -> None:
        if part is None or self.n_chunks == 1:
            path = self.root / f"{name}.parquet"
        else:
            path = self.root / name / f"part-{part:05d}.parquet"
        # dictionary-encode only the low-cardinality strings: ids, times and addresses would
        # only fill a dictionary page to abandon it
        strings = [f.name for f in table.schema if pa.types.is_string(f.type) and f.name != "email"]
        # sorted ids and times: delta encoding is smaller and cheaper than zstd on plain values
        delta = {c: "DELTA_BINARY_PACKED" for c in _DELTA_COLUMNS if c in table.schema.names}
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            row_group_size=ROW_GROUP,
            use_dictionary=strings,
            column_encoding=delta or None,
        )
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def write_chunk(self, k: int, r: ChunkResult) -> None:
        """Sort and write one chunk's tables (part ``k``)."""
        sid0 = int(r.subscribers["subscriber_id"][0])
        tables: tuple[tuple[str, Callable[[ChunkResult, int, int], pa.Table]], ...] = (
            ("subscribers", self._subscribers),
            ("truth_subscribers", self._truth_subscribers),
            ("truth_lifecycle", self._truth_lifecycle),
            ("truth_responses", self._truth_responses),
            ("email_events", self._email_events),
            ("touchpoints", self._touchpoints),
            ("orders", self._orders),
            ("assignments", self._assignments),
        )
        for name, build in tables:
            self._write(name, build(r, sid0, k), k)

    def _subscribers(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        s = r.subscribers
        return pa.Table.from_arrays(
            [
                pa.array(s["subscriber_id"]),
                _emails(s["subscriber_id"]),
                _ts(s["signup_ts"]),
                _cat(s["region"], tuple(REGIONS)),
                pa.array(s["tz_offset_h"]),
                _cat(s["acquisition_source"], ACQUISITION_SOURCES),
                pa.array(s["email_consent"]),
                pa.array(s["sms_consent"]),
                pa.array(s["push_consent"]),
                _ts(s["unsubscribed_ts"], null_below=np.iinfo(np.int64).min),
            ],
            schema=_schema("subscribers"),
        )

    def _truth_subscribers(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        s, t = r.subscribers, r.truth_subscribers
        extra = [c for c in t if c != "persona"]
        arrays = [pa.array(s["subscriber_id"]), _cat(t["persona"], self.pnames)]
        arrays += [
            _cat(t[c], STAGES)
            if c.endswith("stage")
            else _ts(t[c])
            if c.endswith("_ts")
            else pa.array(t[c])
            for c in extra
        ]
        return pa.Table.from_arrays(arrays, names=["subscriber_id", "persona", *extra])

    def _truth_lifecycle(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        lc = r.lifecycle
        o = _order(lc["sid"], lc["ts"])
        return pa.table(
            {
                "subscriber_id": lc["sid"][o] + sid0,
                "day": lc["day"][o],
                "ts": _ts(lc["ts"][o]),
                "stage": _cat(lc["stage"][o].astype(np.int64), STAGES),
            }
        )

    def _truth_responses(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        rs = r.responses
        o = _order(rs["exp"], rs["sid"], rs["arm"])
        # one code per (experiment, arm): the experiment's offset into a flat list of arm names
        arms = [e.arms for e in self.cal.experiments]
        offset = np.cumsum([0, *(len(a) for a in arms)])[:-1].astype(np.int64)
        names = [a for group in arms for a in group]
        code = offset[rs["exp"][o]] + rs["arm"][o] if len(arms) else rs["arm"][o]
        return pa.Table.from_arrays(
            [
                pa.array(rs["exp"][o] + 1),
                pa.array(rs["sid"][o] + sid0),
                _cat(code, names),
                pa.array(rs["conv"][o]),
                pa.array(rs["rev"][o]),
            ],
            schema=_schema("truth_responses"),
        )

    def _email_events(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        ev = r.email_events
        o = _order(ev["sid"], ev["ts"], ev["et"])
        return pa.Table.from_arrays(
            [
                pa.array(ev["sid"][o] + sid0),
                pa.array(ev["cid"][o]),
                _cat(ev["var"][o], self.variants, null=True),
                _cat(ev["et"][o], EVENT_CODES),
                _ts(ev["ts"][o]),
                pa.array(ev["mo"][o]),
            ],
            schema=TABLES["email_events"].arrow_schema(),
        )

    def _touchpoints(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        tp = r.touchpoints
        o = _order(tp["sid"], tp["ts"], tp["ch"], tp["it"])
        cid = tp["cid"][o]
        return pa.Table.from_arrays(
            [
                pa.array(tp["sid"][o] + sid0),
                _ts(tp["ts"][o]),
                _cat(tp["ch"][o], TOUCH_CHANNELS),
                pa.array(cid, mask=cid < 0),
                _cat(tp["it"][o], INTERACTIONS),
            ],
            schema=TABLES["touchpoints"].arrow_schema(),
        )

    def _orders(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        od = r.orders
        o = _order(od["sid"], od["ts"])
        # ids 1, 2, ... within a chunk, offset by chunk: at most one order per subscriber-day
        first = 1 + k * self.sc.chunk_size * self.sc.days
        ids = np.arange(first, first + o.size, dtype=np.int64)
        return pa.Table.from_arrays(
            [
                pa.array(ids),
                pa.array(od["sid"][o] + sid0),
                _ts(od["ts"][o]),
                pa.array(od["revenue"][o]),
                pa.array(od["n_items"][o].astype(np.int64)),
                _cat(od["cat"][o], PRODUCT_CATEGORIES),
            ],
            schema=TABLES["orders"].arrow_schema(),
        )

    def _assignments(self, r: ChunkResult, sid0: int, k: int) -> pa.Table:
        a = r.assignments
        o = _order(a["exp"], a["sid"])
        arm_names = [e.arms for e in self.cal.experiments]
        flat = [x for arms in arm_names for x in arms]
        offset = np.cumsum([0] + [len(x) for x in arm_names])[:-1]
        codes = offset[a["exp"][o]] + a["arm"][o] if o.size else np.empty(0, np.int64)
        return pa.Table.from_arrays(
            [
                pa.array(a["exp"][o] + 1),
                pa.array(a["sid"][o] + sid0),
                _cat(np.asarray(codes, np.int64), flat),
                _ts(a["ts"][o]),
                pa.array(a["hold"][o]),
            ],
            schema=TABLES["assignments"].arrow_schema(),
        )

    def merge(self, summary: dict) -> None:
        """Fold one chunk's row counts and truth accumulators in (in chunk order)."""
        for name, n in summary["rows"].items():
            self.rows[name] = self.rows.get(name, 0) + n
        eff = summary["effects"]
        self.effects = eff if self.effects is None else self.effects + eff
        self.channels += summary["channels"]
        for c, t0 in summary["flow_first"].items():
            self.flow_first[c] = min(self.flow_first.get(c, t0), t0)

    def finish(self, seed: int) -> None:
        """Write campaigns, experiments, truth_effects, truth_channels and ``world.json``."""
        self._write("campaigns", self._campaigns_table())
        self._write("experiments", self._experiments_table())
        self._write("truth_effects", self._effects_table())
        self._write("truth_channels", self._channels_table())
        self._write_metadata(seed)

    def _campaigns_table(self) -> pa.Table:
        cal = self.cal
        camps = cal.campaigns
        sent = np.array(
            [
                self.flow_first.get(c.campaign_id, cal.slot0)
                if c.kind != "broadcast"
                else cal.slot(c.day) + c.offset
                for c in camps
            ],
            np.int64,
        )
        exp_id = np.array([-1 if c.experiment is None else c.experiment + 1 for c in camps])
        return pa.Table.from_arrays(
            [
                pa.array([c.campaign_id for c in camps], pa.int64()),
                pa.array([c.name for c in camps], pa.string()),
                pa.array([c.kind for c in camps], pa.string()),
                pa.array([c.channel for c in camps], pa.string()),
                _ts(sent),
                pa.array(exp_id, pa.int64(), mask=exp_id < 0),
                pa.array([c.content_category for c in camps], pa.string()),
                pa.array([c.flow for c in camps], pa.string()),
            ],
            schema=TABLES["campaigns"].arrow_schema(),
        )

    def _experiments_table(self) -> pa.Table:
        cal, sc = self.cal, self.sc
        exps = cal.experiments
        return pa.Table.from_arrays(
            [
                pa.array(np.arange(1, len(exps) + 1, dtype=np.int64)),
                pa.array([e.name for e in exps], pa.string()),
                pa.array([e.kind for e in exps], pa.string()),
                pa.array(["|".join(e.arms) for e in exps], pa.string()),
                pa.array([e.control_arm for e in exps], pa.string()),
                _ts(np.array([cal.slot(d) for d in cal.experiment_day], np.int64)),
                pa.array(
                    [
                        e.length_days
                        if (e.kind.endswith("holdout") and e.kind != "flow_holdout")
                        or e.kind == "cadence_test"
                        else e.conversion_window_days
                        for e in exps
                    ],
                    pa.int64(),
                ),
                pa.array([_describe(e, sc.calendar.email_weekdays) for e in exps], pa.string()),
                pa.array(
                    [e.channel if e.kind == "channel_holdout" else None for e in exps],
                    pa.string(),
                ),
                pa.array([e.flow if e.kind == "flow_holdout" else None for e in exps], pa.string()),
            ],
            schema=TABLES["experiments"].arrow_schema(),
        )

    def _channels_table(self) -> pa.Table:
        """True incremental conversions and revenue per touch channel (counterfactual runs)."""
        ch = self.channels
        names = list(EFFECT_CHANNELS) + ["direct"]
        order = [names.index(c) for c in TOUCH_CHANNELS]
        ch = ch[order]
        base = TABLES["truth_channels"].arrow_schema()
        return pa.Table.from_arrays(
            [
                pa.array(list(TOUCH_CHANNELS), pa.string()),
                pa.array(ch[:, 0]),
                pa.array(ch[:, 1]),
                pa.array(ch[:, 0] - ch[:, 1]),
                pa.array(ch[:, 2] - ch[:, 3]),
                pa.array(ch[:, 2]),
                pa.array(ch[:, 3]),
            ],
            schema=base.append(pa.field("revenue", pa.float64(), False)).append(
                pa.field("revenue_without", pa.float64(), False)
            ),
        )

    def _write_metadata(self, seed: int) -> None:
        """``world.json`` (what a user may know) and the truth file (the scenario in full)."""
        sc = self.sc
        rows = dict(sorted(self.rows.items()))
        scenario = sc.to_dict()
        holdout_days = scenario.pop("holdout_days")  # truth: the holdout is never public
        meta: dict[str, Any] = {
            "scenario_name": sc.name,
            "seed": seed,
            "n_subscribers": sc.n_subscribers,
            "start": sc.start.isoformat(),
            "days": sc.days,
            "chunk_size": sc.chunk_size,
            "n_chunks": self.n_chunks,
            "layout": "parts" if self.n_chunks > 1 else "single",
            "rows": {k: n for k, n in rows.items() if not TABLES[k].truth},
            "generator": "workbench.synth",
            "generator_version": GENERATOR_VERSION,
            "workbench_version": workbench.__version__,
            "scenario": public_scenario(scenario),
        }
        truth: dict[str, Any] = {
            "scenario_name": sc.name,
            "seed": seed,
            "generator_version": GENERATOR_VERSION,
            "rows": {k: n for k, n in rows.items() if TABLES[k].truth},
            "holdout_days": holdout_days,
            "scenario": scenario,
        }
        for name, data in ((TRUTH_FILE, truth), ("world.json", meta)):
            (self.root / name).write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")

    def _effects_table(self) -> pa.Table:
        rows: dict[str, list[Any]] = {
            k: []
            for k in (
                "experiment_id",
                "persona",
                "arm",
                "conversion_rate",
                "revenue_per_recipient",
                "lift_vs_control",
                "revenue_lift_vs_control",
                "n_recipients",
                "broadcasts_per_week",
                "open_rate",
                "unsubscribe_rate",
            )
        }
        eff = self.effects
        sc_days = self.cal.days
        for i, e in enumerate(self.cal.experiments):
            ctrl = e.arms.index(e.control_arm)
            for p, pname in enumerate(self.pnames):
                if eff is None or eff[i, p, 0, 0] == 0:
                    continue
                n = eff[i, p, : len(e.arms), 0]
                cr = eff[i, p, : len(e.arms), 1] / np.maximum(n, 1)
                rpr = eff[i, p, : len(e.arms), 2] / np.maximum(n, 1)
                deliv, opens, unsubs = eff[i, p, : len(e.arms), 3:6].T
                weeks = min(e.length_days, sc_days - self.cal.experiment_day[i]) / 7
                cadence = e.kind == "cadence_test"
                for a, arm in enumerate(e.arms):
                    rows["experiment_id"].append(i + 1)
                    rows["persona"].append(pname)
                    rows["arm"].append(arm)
                    rows["conversion_rate"].append(float(cr[a]))
                    rows["revenue_per_recipient"].append(float(rpr[a]))
                    rows["lift_vs_control"].append(
                        float(cr[a] / cr[ctrl] - 1) if cr[ctrl] > 0 else 0.0
                    )
                    rows["revenue_lift_vs_control"].append(
                        float(rpr[a] / rpr[ctrl] - 1) if rpr[ctrl] > 0 else 0.0
                    )
                    rows["n_recipients"].append(int(n[a]))
                    nan = float("nan")
                    per_week = deliv[a] / max(n[a], 1) / weeks if cadence else nan
                    rows["broadcasts_per_week"].append(float(per_week))
                    rows["open_rate"].append(
                        float(opens[a] / deliv[a]) if cadence and deliv[a] > 0 else nan
                    )
                    rows["unsubscribe_rate"].append(
                        float(unsubs[a] / deliv[a]) if cadence and deliv[a] > 0 else nan
                    )
        types = {
            "experiment_id": pa.int64(),
            "persona": pa.string(),
            "arm": pa.string(),
            "n_recipients": pa.int64(),
        }
        return pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in rows.items()})


def _describe(e: Any, email_weekdays: tuple[str, ...]) -> str:
    text = e.description or ""
    if e.kind == "channel_holdout":
        text = f"channel={e.channel}; holdout receives no {e.channel} messages. {text}"
    elif e.kind == "flow_holdout":
        text = (
            f"flow={e.flow}; subscribers entering the {e.flow} flow in the first "
            f"{e.length_days} days are split; the holdout gets none of its emails. "
            f"Conversion: an order within {e.conversion_window_days} days of entering. {text}"
        )
    elif e.kind == "segmentation_holdout":
        text = (
            "mass: the usual broadcasts; segmented: best content per cohort at the "
            "subscriber's preferred hour, fatigue-aware; holdout: no broadcasts. " + text
        )
    elif e.kind == "cadence_test":
        usual = tuple(WEEKDAYS.index(w) for w in email_weekdays)
        arms = "; ".join(
            f"{a}: {'/'.join(WEEKDAYS[w] for w in cadence_weekdays(usual, e.per_week(a)))}"
            for a in e.arms
        )
        text = (
            f"{e.base_share:.0%} of the base, email broadcast days per arm ({arms}); "
            "control = the usual calendar; extra days are broadcasts carrying the test. " + text
        )
    elif e.kind == "factorial":
        text = (
            "arms are factor=level pairs joined by ';' ("
            + ", ".join(f"{f}: {'/'.join(v)}" for f, v in e.factors.items())
            + "). "
            + text
        )
    return text.strip()
