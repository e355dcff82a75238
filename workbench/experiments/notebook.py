"""Small helpers used by ``notebooks/03-bayesian-testing.ipynb`` (kept here so it stays thin)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from workbench.errors import WorkbenchError


def resolve_world(world: str = "") -> Path:
    """The world folder to analyse: ``world``, else the committed sample world.

    When the sample world is not there (a fresh clone before ``make report``), the ``tiny``
    scenario with seed 0 is generated once into ``datasets/generated/tiny-seed0`` and reused.
    """
    from workbench import paths

    if world:
        return Path(world)
    sample = paths.sample_world()
    if (sample / "world.json").is_file():
        return sample
    cached = paths.generated_dir() / "tiny-seed0"
    if not (cached / "world.json").is_file():
        from workbench.synth import generate_world

        generate_world("tiny", seed=0, out=cached, overwrite=True)
    return cached


def experiment_of_kind(world: object, kind: str) -> int | None:
    """Id of the first experiment of a kind (``ab_test``, ``factorial``, ...), or None."""
    exps = world["experiments"]  # type: ignore[index]
    ids = exps.loc[exps["kind"] == kind, "experiment_id"]
    return int(ids.iloc[0]) if len(ids) else None


def decision_table(result: pd.DataFrame) -> pd.DataFrame:
    """The columns a marketer reads, rounded: one row per segment × arm."""
    cols = [
        "segment", "arm", "n", "conversions", "rate_mean", "rate_hdi_low", "rate_hdi_high",
        "prob_best", "prob_beat_control", "expected_loss_rel", "lift_mean", "decision",
    ]  # fmt: skip
    if "rpr_mean" in result.columns:
        cols[7:7] = ["rpr_mean"]
    missing = set(cols) - set(result.columns)
    if missing:
        raise WorkbenchError(f"not an analysis result: missing {sorted(missing)}")
    return result[cols].round(4)


def show(fig: object) -> None:
    """Display a figure once as a PNG, whatever the matplotlib backend.

    papermill may run the kernel headless (``MPLBACKEND=Agg``), where ``plt.show()`` and
    ``display(fig)`` produce no image; rendering the PNG ourselves works everywhere, and closing
    the figure keeps the inline backend from showing it a second time.
    """
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    display(Image(data=buf.getvalue(), format="png"))
