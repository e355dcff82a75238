"""The truth stays behind its wall: only evaluation code reads a synthetic world's ground truth.

Three kinds of checks:

- the files: ``world.json`` carries nothing that is truth, ``truth_scenario.json`` and the
  ``truth_*`` tables do, and :func:`workbench.truth.load_truth` is the one way to them
  (:func:`workbench.schema.load_world` refuses truth tables);
- static: an AST scan of the package, where only an explicit allow-list of evaluation modules may
  mention the truth (truth tables or file, the truth loader, the truth keys of the scenario), and
  of the notebooks, which may only reach truth tables through what ``load_truth`` returned;
- dynamic: the methods give identical results on a copy of the sample world whose truth was
  deleted, poisoned with plausible lies, or replaced by garbage.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import fields
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from workbench.errors import DataError, WorkbenchError
from workbench.paths import notebooks_dir, sample_world
from workbench.schema import LIFECYCLE_STAGES, TABLES, TRUTH_TABLES, load_world
from workbench.synth.personas import PERSONAS, Persona
from workbench.truth import (
    EXPERIMENT_TRUTH_KEYS,
    SCENARIO_TRUTH_KEYS,
    TRUTH_FILE,
    load_truth,
    public_meta,
)

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"

#: Modules that may mention the truth, and why. Every other module of the package is a method
#: (or plumbing) and must not.
ALLOWED: dict[str, str] = {
    "truth.py": "the truth loader, the one way to the truth",
    "schema.py": "the contract declares the truth tables (and load_world refuses them)",
    "synth/generate.py": "the generator writes the truth",
    "synth/simulate.py": "the simulator computes it",
    "synth/scenario.py": "the scenario defines the persona mix and true lifts",
    "synth/family.py": "draws random scenarios, persona mixes included",
    "synth/personas.py": "the personas are the truth",
    "segment/evaluate.py": "scores segments against the true personas",
    "attribution/scorecard.py": "scores attribution against truth_channels",
    "clv/scorecard.py": "scores customer-value predictions against the true alive states",
    "uplift/scorecard.py": "scores predicted uplift against each subscriber's true response",
    "flows/scorecard.py": "scores flow holdout estimates against truth_responses",
    "timing/scorecard.py": "scores send-time recommendations against the true preferred hours",
    "synth/replay.py": "replays policies in a generated world's true response model",
}

#: Persona parameters that share their name with a rate every method may compute from the data
#: (features, profiles, the cadence curve): the name alone does not reveal the truth.
OBSERVABLE = {
    "name",
    "description",
    "open_rate",
    "click_rate",
    "machine_open_share",
    "unsubscribe_rate",
    "complaint_rate",
    "purchase_rate",
}
_PUBLIC_COLUMNS = {c.name for t in TABLES.values() if not t.truth for c in t.columns}
#: Keys that only the truth has: the scenario's truth entries (``world.json`` carried them before
#: generator 1.3), every persona parameter and persona name, and the persona and latent traits of
#: ``truth_subscribers``.
TRUTH_KEYS = (
    (
        set(SCENARIO_TRUTH_KEYS)
        | set(EXPERIMENT_TRUTH_KEYS)
        | {f.name for f in fields(Persona)}
        | (set(PERSONAS) - set(LIFECYCLE_STAGES))
        | set(pq.read_schema(sample_world() / "truth_subscribers.parquet").names)
    )
    - OBSERVABLE
    - _PUBLIC_COLUMNS
)
_TRUTH_WORDS = ("truth_", "load_truth", "include_truth", "workbench.truth")
#: A truth table or file as a notebook would name it to read it (not in a sentence).
_TRUTH_NAME = re.compile(r"^truth_\w+$|truth_\w+\.(parquet|json|csv)")


# --------------------------------------------------------------------------------- the files


def test_world_json_holds_no_truth() -> None:
    def keys(obj: object) -> set[str]:
        if isinstance(obj, dict):
            return set(obj) | {k for v in obj.values() for k in keys(v)}
        if isinstance(obj, list):
            return {k for v in obj for k in keys(v)}
        return set()

    public = json.loads((sample_world() / "world.json").read_text())
    kept = json.loads((sample_world() / TRUTH_FILE).read_text())
    leaked = keys(public) & (TRUTH_KEYS - {"shares"})  # experiments' arm shares are a design
    assert not leaked, f"world.json carries truth: {sorted(leaked)}"
    assert not set(public["scenario"]) & set(SCENARIO_TRUTH_KEYS)
    assert not [k for k in public["rows"] if k.startswith("truth_")]
    assert public["scenario"]["calendar"] and public["scenario"]["experiments"]
    # the truth file holds the scenario as simulated, which world.json had before
    assert set(kept["scenario"]["personas"]) == set(kept["scenario"]["shares"])
    assert public_meta({**public, "scenario": kept["scenario"]}) == public


def test_load_world_refuses_truth_tables() -> None:
    with pytest.raises(WorkbenchError, match="load_truth"):
        load_world(sample_world(), tables=["subscribers", "truth_subscribers"])
    with pytest.raises(TypeError):
        load_world(sample_world(), include_truth=True)  # type: ignore[call-arg]
    world = load_world(sample_world())
    assert not [t for t in world.tables if t.startswith("truth_")]


def test_load_truth_gives_tables_scenario_and_personas() -> None:
    truth = load_truth(sample_world())
    assert set(truth.tables) == set(TRUTH_TABLES)
    for name, rows in truth.scenario["rows"].items():
        assert len(truth[name]) == rows
    personas = truth.personas
    assert personas.index.name == "subscriber_id" and personas.nunique() == 9
    overview = truth.persona_overview()
    assert overview["share"].sum() == pytest.approx(1.0)
    assert overview.set_index("persona").loc["loyal_buyer", "cadence_tolerance"] == 6.0
    only = load_truth(sample_world(), tables=["truth_channels"])
    assert set(only.tables) == {"truth_channels"} and only.get("truth_effects") is None
    with pytest.raises(WorkbenchError, match="no truth table 'truth_effects'"):
        only["truth_effects"]
    with pytest.raises(WorkbenchError, match="not a truth table"):
        load_truth(sample_world(), tables=["orders"])


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(sample_world(), tmp_path / "w"))


def _delete_truth(root: Path) -> None:
    (root / TRUTH_FILE).unlink()
    for name in TRUTH_TABLES:
        (root / f"{name}.parquet").unlink()


def test_a_world_without_truth_has_an_empty_one(copy: Path) -> None:
    _delete_truth(copy)
    truth = load_truth(copy)
    assert truth.empty and "truth_subscribers" not in truth
    assert truth.persona_overview().empty


def test_truth_of_another_world_or_broken_is_refused(copy: Path) -> None:
    f = copy / TRUTH_FILE
    kept = json.loads(f.read_text())
    f.write_text(json.dumps({**kept, "seed": kept["seed"] + 1}))
    with pytest.raises(DataError, match="column 'seed'.*another world"):
        load_truth(copy)
    f.write_text("{not json")
    with pytest.raises(WorkbenchError, match="invalid JSON"):
        load_truth(copy)
    f.write_text(json.dumps(kept))
    subs = pd.read_parquet(copy / "truth_subscribers.parquet")
    subs.loc[0, "subscriber_id"] = 10**9
    subs.to_parquet(copy / "truth_subscribers.parquet")
    with pytest.raises(DataError, match="refers to unknown subscribers in 1 row"):
        load_truth(copy)


def test_world_json_of_an_older_generator_is_scrubbed(copy: Path) -> None:
    """A world written before generator 1.3 kept the personas in world.json: meta drops them."""
    f = copy / "world.json"
    meta = json.loads(f.read_text())
    kept = json.loads((copy / TRUTH_FILE).read_text())
    old = {**meta, "rows": {**meta["rows"], **kept["rows"]}, "scenario": kept["scenario"]}
    old["generator_version"] = "1.2"
    f.write_text(json.dumps(old))
    world = load_world(copy, tables=["subscribers"])
    assert world.meta == {**meta, "generator_version": "1.2"}
    assert "personas" in old["scenario"] and "personas" not in world.meta["scenario"]


# ------------------------------------------------------------------------------ static scan


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def truth_mentions(source: str) -> list[str]:
    """Every place ``source`` mentions the truth (docstrings aside), as ``line: what``."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        words: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if node.value in TRUTH_KEYS:
                found.append(f"{node.lineno}: truth key {node.value!r}")
            words = [node.value]
        elif isinstance(node, ast.Name):
            words = [node.id]
        elif isinstance(node, ast.Attribute):
            words = [node.attr]
        elif isinstance(node, ast.arg):
            words = [node.arg]
        elif isinstance(node, ast.keyword):
            words = [node.arg or ""]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            words = [node.name]
        elif isinstance(node, ast.Import):
            words = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            words = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for w in words:
            hit = next((t for t in _TRUTH_WORDS if t in w), None)
            if hit:
                found.append(f"{node.lineno}: {w[:60]!r}")
    return sorted(set(found), key=lambda s: int(s.split(":")[0]))


def _modules() -> dict[str, Path]:
    return {p.relative_to(PACKAGE).as_posix(): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_scan_finds_every_way_to_the_truth() -> None:
    """The scanner itself: it must flag each of these, and not prose or public keys."""
    reads = [
        "from workbench.truth import load_truth",
        "from workbench import truth",
        "import workbench.truth as t",
        "t = load_truth(path)",
        "w = load_world(path, include_truth=True)",
        "pd.read_parquet(root / 'truth_subscribers.parquet')",
        "json.loads((root / 'truth_scenario.json').read_text())",
        "name = f'truth_{table}'",
        "p = world.meta['scenario']['personas']",
        "mix = meta['scenario'].get('shares')",
        "tol = p['cadence_tolerance']",
        "lift = p['arm_response']['urgency']",
        "x = subs['fatigue_threshold']",
        "is_loyal = label == 'loyal_buyer'",
    ]
    for src in reads:
        assert truth_mentions(src), src
    fine = [
        '"""Never reads truth_* tables or load_truth."""',
        "rate = f['open_rate'].mean()",
        "stage = 'lapsing'",
        "scenario = world.meta['scenario']['name']",
        "truth = None  # a name alone is no way to the truth",
    ]
    for src in fine:
        assert not truth_mentions(src), src


def test_no_method_module_reads_the_truth() -> None:
    mods = _modules()
    bad = {
        name: truth_mentions(path.read_text()) for name, path in mods.items() if name not in ALLOWED
    }
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, (
        "method modules that mention the truth (load it in evaluation code with "
        f"workbench.truth.load_truth and pass results in): {bad}"
    )
    # the allow-list stays tight: each entry exists and needs its exemption
    for name in ALLOWED:
        assert name in mods, f"allow-list entry {name} does not exist"
        assert truth_mentions(mods[name].read_text()), f"{name} needs no exemption: remove it"


def _notebook_code(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def notebook_truth_leaks(source: str) -> list[str]:
    """Truth a notebook reaches other than through what ``load_truth`` returned."""
    tree = ast.parse(source)
    parent = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}

    def is_loader(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "load_truth"
        )

    holders = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and is_loader(node.value)
        for t in node.targets
        if isinstance(t, ast.Name)
    }

    def from_loader(node: ast.AST) -> bool:
        return is_loader(node) or (isinstance(node, ast.Name) and node.id in holders)

    leaks = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute | ast.keyword):
            word = getattr(node, "id", None) or getattr(node, "attr", None) or node.arg
            if word == "include_truth":
                leaks.append(f"line {node.lineno}: include_truth")
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if not _TRUTH_NAME.search(node.value):  # prose that names a table is no way to it
            continue
        p = parent[id(node)]
        ok = (
            (isinstance(p, ast.Subscript) and from_loader(p.value))
            or (isinstance(p, ast.Compare) and from_loader(p.comparators[-1]))
            or (
                isinstance(p, ast.Call)
                and isinstance(p.func, ast.Attribute)
                and p.func.attr == "get"
                and from_loader(p.func.value)
            )
            or (isinstance(p, ast.List) and is_loader(parent[id(parent[id(p)])]))
        )
        if not ok:
            leaks.append(f"line {node.lineno}: {node.value!r}")
    return leaks


def test_notebook_scan_flags_other_ways() -> None:
    assert notebook_truth_leaks("w = load_world(p, include_truth=True)")
    assert notebook_truth_leaks("t = pd.read_parquet(p / 'truth_effects.parquet')")
    assert notebook_truth_leaks("w = load_world(p)\nx = w['truth_effects']")
    assert notebook_truth_leaks("t = json.loads(open(f'{p}/truth_scenario.json').read())")
    assert not notebook_truth_leaks("print('this world has no truth_subscribers table')")
    ok = (
        "t = load_truth(p, tables=['truth_channels'])\n"
        "if 'truth_channels' in t:\n    x = t['truth_channels']\n"
        "y = load_truth(p).get('truth_effects')"
    )
    assert not notebook_truth_leaks(ok)


@pytest.mark.parametrize(
    "path", sorted(Path(notebooks_dir()).glob("*.ipynb")), ids=lambda p: p.stem
)
def test_notebooks_read_truth_only_through_the_loader(path: Path) -> None:
    assert not notebook_truth_leaks(_notebook_code(path))


# ------------------------------------------------------------------------------ dynamic


def _poison(root: Path) -> None:
    """Plausible lies: shuffled personas and traits, scrambled effects, a falsified scenario."""
    rng = np.random.default_rng(0)
    for name in TRUTH_TABLES:
        f = root / f"{name}.parquet"
        t = pq.read_table(f).to_pandas()
        for col in t.columns:
            if col != "subscriber_id":
                t[col] = rng.permutation(t[col].to_numpy())
        t.to_parquet(f, index=False)
    f = root / TRUTH_FILE
    kept = json.loads(f.read_text())
    sc = kept["scenario"]
    names = list(sc["shares"])
    sc["shares"] = dict(zip(names, reversed(list(sc["shares"].values())), strict=True))
    for p in sc["personas"].values():
        p["cadence_tolerance"] = 7.0 - p["cadence_tolerance"]
        p["arm_response"] = {k: -v for k, v in p["arm_response"].items()}
    f.write_text(json.dumps(kept))


def _garbage(root: Path) -> None:
    """The truth files replaced by bytes no reader could parse."""
    rng = np.random.default_rng(1)
    for f in [root / TRUTH_FILE, *(root / f"{n}.parquet" for n in TRUTH_TABLES)]:
        f.write_bytes(rng.bytes(512))


def _methods(root: Path) -> dict[str, object]:
    from workbench.attribution import attribute, holdout_lift, journeys_from_world
    from workbench.attribution.workflow import load_inputs
    from workbench.experiments import ConjugateABTest, from_world
    from workbench.explore import world_summary
    from workbench.features import compute_features
    from workbench.segment import segment_subscribers
    from workbench.segment.playbook import cadence_evidence, fatigue_cadence, playbook

    features = compute_features(root)
    seg = segment_subscribers(features, method="deconvolved", k=6, seed=0, sample_size=1000)
    curve, source = cadence_evidence(root, seg.segments)
    world = load_world(root)
    inputs = load_inputs(root, lookback_days=30.0, segment_col="acquisition_source")
    return {
        "meta": world.meta,
        "summary": world_summary(world),
        "features": features,
        "segments": seg.segments,
        "names": seg.names,
        "cadence": (curve, source),
        "playbook": playbook(features, seg.segments, seg.names, fatigue_cadence(curve)),
        "conjugate": ConjugateABTest(seed=0).fit(from_world(world)).result_,
        "markov": attribute(journeys_from_world(world), model="markov", order=2),
        "paths": inputs.paths,
        "holdout": holdout_lift(world["experiments"], world["assignments"], world["orders"]),
    }


def _assert_same(a: object, b: object, what: str) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=what)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=what)
    elif isinstance(a, tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{what}[{i}]")
    else:
        assert a == b, what


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = shutil.copytree(sample_world(), tmp_path_factory.mktemp("intact") / "w")
    return _methods(Path(root))


@pytest.mark.parametrize("damage", [_delete_truth, _poison, _garbage], ids=lambda f: f.__name__)
def test_methods_do_not_see_the_truth(damage, intact, tmp_path: Path) -> None:
    root = Path(shutil.copytree(sample_world(), tmp_path / "w"))
    damage(root)
    got = _methods(root)
    assert got.keys() == intact.keys()
    for key, value in intact.items():
        _assert_same(value, got[key], key)
