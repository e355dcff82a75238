"""docs/architecture.md stays true: every module is on the map, and imports go down the layers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

#: The layers of the map (docs/architecture.md): top-level module or package -> layer.
LAYERS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "paths": 0,
    "_read": 0,
    "_io": 0,
    "_signals": 0,
    "findings": 0,
    "schema": 1,
    "validation": 1,
    "db": 1,
    "engine": 1,
    "truth": 1,
    "features": 2,
    "explore": 2,
    "plots": 2,
    "widgets": 2,
    "synth": 2,
    "importers": 2,
    "bayes": 3,
    "segment": 4,
    "experiments": 4,
    "attribution": 4,
    "clv": 4,
    "uplift": 4,
    "strategy": 4,
    "flows": 4,
    "timing": 4,
    "content": 4,
    "cli": 6,
    "commands": 6,
    "reports": 6,
    "teaching": 6,
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _top(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``workbench`` import of a file, lazy ones inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "workbench":  # from workbench import errors, __version__
                found += [(node.lineno, a.name) for a in node.names]
            elif node.module.startswith("workbench."):
                found.append((node.lineno, node.module.split(".")[1]))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name.split(".")[1])
                for a in node.names
                if a.name.startswith("workbench.")
            ]
    return found


def test_every_top_level_module_has_a_layer() -> None:
    tops = {_top(p) for p in _modules()}
    assert tops == set(LAYERS), "add the module to docs/architecture.md and LAYERS"


@pytest.mark.parametrize("name", sorted(set(LAYERS) - {"__init__"}))
def test_the_picture_shows_each_module_in_its_layer(name: str) -> None:
    picture = DOC.split("```")[1]
    lines = picture.splitlines()
    layers = []
    for at, line in enumerate(lines):
        if re.search(rf"(?<![\w.]){name}\b", line):
            # the layer number stands on the first line of each layer's box
            top = at
            while not re.match(r"\s*│\s*\d", lines[top]):
                top -= 1
            layers.append(int(re.match(r"\s*│\s*(\d)", lines[top]).group(1)))
    assert LAYERS[name] in layers, f"{name} is not in layer {LAYERS[name]} of the picture"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_named_in_the_text(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    name = rel.parts[-2] if rel.stem == "__init__" and len(rel.parts) > 1 else rel.stem
    if name == "__init__":
        return
    pattern = rf"`(?:[\w./]+[./])?{re.escape(name)}(?:/|`)"
    assert re.search(pattern, DOC), f"docs/architecture.md does not name `{name}`"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    layer = LAYERS[_top(path)]
    bad = [
        f"line {line}: imports workbench.{target} (layer {LAYERS.get(target, '?')})"
        for line, target in _imports(path)
        if target in LAYERS and LAYERS[target] > layer
    ]
    assert not bad, f"{path.relative_to(ROOT)} (layer {layer}) " + "; ".join(bad)


def test_the_import_check_can_fail(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from workbench.segment import Segmenter\n")
    assert _imports(f) == [(2, "segment")]
