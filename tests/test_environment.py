"""The project's install files agree with each other."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# pip name -> conda-forge name, where they differ
CONDA_NAMES = {
    "duckdb": "python-duckdb",
    "playwright": "playwright-python",
    "ibis-framework": "ibis-framework-core",  # without every backend
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_deps() -> set[str]:
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = proj["dependencies"] + proj["optional-dependencies"]["dev"]
    return {_norm(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in reqs}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def _environment() -> dict[str, str]:
    deps = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.fullmatch(r"\s*-\s*([A-Za-z0-9_.-]+)=([^\s#]+)\s*", line)
        if m:
            deps[_norm(m.group(1))] = m.group(2)
    return deps


def test_lock_pins_every_line_and_has_no_index_urls():
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+!-]+", line), line


def test_lock_covers_every_direct_dependency():
    missing = _pyproject_deps() - set(_lock())
    assert not missing, f"pinned nowhere in requirements.lock: {sorted(missing)}"


def test_environment_yml_equals_pyproject_and_lock():
    env = _environment()
    env.pop("python")
    lock = _lock()
    expected = {_norm(CONDA_NAMES.get(n, n)): lock[n] for n in _pyproject_deps()}
    assert env == expected


def test_find_python_rejects_a_broken_interpreter():
    out = subprocess.run(
        ["sh", str(ROOT / "scripts" / "find-python")],
        env={"PYTHON": "/bin/false", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "not a working Python >= 3.12" in out.stderr


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs a POSIX shell")
def test_find_python_explains_when_none_is_found(tmp_path):
    # an empty PATH and HOME: no interpreter can be found anywhere
    out = subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / "find-python")],
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "No Python >= 3.12 found" in out.stderr
