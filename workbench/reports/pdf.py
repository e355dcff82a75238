"""``report.pdf``: the stakeholder page printed by headless Chromium, one file to forward.

Chromium is a system package (Debian's ``chromium``; ``.ci/run`` installs it); without it the
report is complete without the PDF, and the manifest says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["find_chromium", "print_pdf"]

#: Browsers tried, in order, when ``$WORKBENCH_CHROMIUM`` does not name one.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 300


def find_chromium() -> str | None:
    """The Chromium executable (``$WORKBENCH_CHROMIUM``, else the first of :data:`BROWSERS`)."""
    named = os.environ.get("WORKBENCH_CHROMIUM")
    if named:
        return shutil.which(named)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path) -> str | None:
    """Print ``html`` to ``pdf`` (complete or not at all); the reason when it cannot.

    Returns
    -------
    str or None
        ``None`` when ``pdf`` was written, else why not (no Chromium, a failure, a timeout).
    """
    from workbench._io import atomic_file

    exe = find_chromium()
    if exe is None:
        return f"no Chromium found ({', '.join(BROWSERS)}): install Debian's chromium package"
    with atomic_file(pdf) as tmp:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return f"Chromium did not print within {TIMEOUT_S} s"
        if done.returncode != 0 or not Path(tmp).is_file() or Path(tmp).stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            return f"Chromium failed ({done.returncode}): {last}"
    return None
