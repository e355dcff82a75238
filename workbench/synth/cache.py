"""Generated worlds cached by scenario, size and seed, so notebooks and reports share them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from workbench.synth.generate import GENERATOR_VERSION, generate_world
from workbench.synth.scenario import load_scenario


def cache_name(scenario: str | os.PathLike[str], n_subscribers: int | None, seed: int) -> str:
    """Folder name of a cached world: ``{scenario}-n{N}-s{seed}``.

    A scenario given as a TOML file is named by its stem and a hash of its content, so that an
    edited file never reuses a stale world.
    """
    p = Path(scenario)
    if p.suffix == ".toml" and p.is_file():
        tag = f"{p.stem}-{hashlib.sha256(p.read_bytes()).hexdigest()[:8]}"
    else:
        tag = str(scenario)
    n = n_subscribers or load_scenario(scenario).n_subscribers
    return f"{tag}-n{n}-s{seed}"


def is_current(world: str | os.PathLike[str]) -> bool:
    """True if ``world`` is a finished world made by this generator version."""
    meta = Path(world) / "world.json"
    if not meta.is_file():
        return False
    try:
        version = json.loads(meta.read_text()).get("generator_version")
    except (OSError, ValueError):
        return False
    return version == GENERATOR_VERSION


def cached_world(
    scenario: str | os.PathLike[str] = "tiny",
    n_subscribers: int | None = None,
    seed: int = 0,
    *,
    root: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Path:
    """Return the folder of a generated world, generating it only the first time.

    Parameters
    ----------
    scenario : str or path
        Built-in scenario name or a scenario TOML file.
    n_subscribers : int, optional
        Subscribers to generate (``None`` or 0: the scenario's own size).
    seed : int, default 0
        Generator seed.
    root : path, optional
        Cache folder (default :func:`workbench.paths.generated_dir`).
    progress : bool, default False
        Show a progress bar while generating.

    Returns
    -------
    Path
        ``root / cache_name(...)``, complete (worlds are written atomically, so a folder with a
        ``world.json`` is a finished world). A world made by another generator version is
        stale and generated again.
    """
    from workbench.paths import generated_dir

    n_subscribers = n_subscribers or None
    out = Path(root or generated_dir()) / cache_name(scenario, n_subscribers, seed)
    if is_current(out):
        return out
    return generate_world(
        scenario,
        n_subscribers=n_subscribers,
        seed=seed,
        out=out,
        overwrite=out.exists(),
        progress=progress,
    )
