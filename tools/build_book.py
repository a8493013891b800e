"""Build the book into _build/html with warnings as errors.

Execution mode comes from BOOK_EXECUTE (``cache`` locally, ``force`` in CI, set by the
Makefile). The effective configuration is written to _build/_config.effective.yml, so
_config.yml stays the one place to edit. A failed notebook fails the build
(``nb_execution_raise_on_error``); execution reports are never published.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("cache", "force", "off", "auto")


def effective_config(mode: str) -> Path:
    if mode not in MODES:
        raise SystemExit(f"BOOK_EXECUTE must be one of {', '.join(MODES)}; got {mode!r}")
    text = (ROOT / "_config.yml").read_text()
    text, count = re.subn(r"(?m)^(\s*execute_notebooks:\s*)\S+", rf"\g<1>{mode}", text)
    if count != 1:
        raise SystemExit("_config.yml must contain exactly one 'execute_notebooks:' line")
    out = ROOT / "_build" / "_config.effective.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


def fill_cached_outputs() -> int:
    """Give the downloadable notebooks their outputs when they came from jupyter-cache.

    With ``execute_notebooks: cache``, myst-nb renders cached outputs into the pages but writes
    the text notebooks it did not re-execute to ``_sources`` without them; merge them back.
    """
    import jupytext
    import nbformat
    from jupyter_cache import get_cache

    sources = ROOT / "_build" / "html" / "_sources"
    cache = get_cache(ROOT / "_build" / ".jupyter_cache")
    filled = 0
    for path in sorted(sources.rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
            continue
        text = ROOT / path.relative_to(sources).with_suffix(".md")
        try:
            _, merged = cache.merge_match_into_notebook(jupytext.read(text))
        except KeyError:
            continue
        nbformat.write(merged, path)
        filled += 1
    return filled


def main() -> int:
    mode = os.environ.get("BOOK_EXECUTE", "cache")
    config = effective_config(mode)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(ROOT), "--config", str(config), "-W", "--keep-going"]
    if mode == "force":
        cmd.append("--all")
    print(f"building the book (execute_notebooks={mode}):", " ".join(cmd), flush=True)
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT)
    reports = ROOT / "_build" / "html" / "reports"
    if reports.exists():
        shutil.rmtree(reports)  # never publish execution reports or tracebacks
        if result.returncode == 0:
            print("error: notebook execution reports were produced; see the log above", file=sys.stderr)
            return 1
    if result.returncode != 0:
        print(f"error: the book build failed (exit {result.returncode}); see the warnings above", file=sys.stderr)
        return result.returncode
    if mode == "cache":
        fill_cached_outputs()
    notebooks = sorted((ROOT / "_build" / "html" / "_sources").rglob("*.ipynb"))
    print(f"book built in {time.time() - start:.0f} s: {ROOT / '_build' / 'html' / 'index.html'} "
          f"({len(notebooks)} executed notebooks offered for download)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
