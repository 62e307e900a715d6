#!/usr/bin/env python
"""Execute notebooks of nbs/ at their smoke defaults and keep the outputs that show an example (nbdev's convention).

    python scripts/fill_outputs.py                  # every notebook but index.ipynb
    python scripts/fill_outputs.py nbs/00a_core.ipynb nbs/01a_units.ipynb
    python scripts/fill_outputs.py --check          # exit 1 when a committed output holds a machine path or a timing

What is kept: the library half's results (values, tables, figures). What is dropped, so that re-executing does not
churn the diff: everything after a stage notebook's `## Run` heading (a smoke run: paths, seconds, progress bars),
stderr (warnings, progress bars), and any output that holds an absolute path, a temp folder's name or a duration.
Execution counts go, and the notebook then passes through `nbdev_clean` as CI expects.
"""
from __future__ import annotations
import argparse, re, subprocess, sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|root|home|Users|private|var/folders|kaggle|content)/")
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds|min)\b(?!\w)|\d+(?:\.\d+)?\s?(?:it/s|s/it|µs|us)\b|\d+%\|")
TEMP_NAME = re.compile(r"\btmp[a-z0-9_]{8}\b")  # a tempfile.mkdtemp() folder name, different on every run
RUN_HEADING = re.compile(r"## Run\s*(?:\n|$)")  # "## Run" alone on its line ("## Running a stage" in 08_pipeline is library prose)


def is_run_heading(cell) -> bool:
    "Whether a markdown cell opens a stage notebook's Run half."
    return cell.cell_type == "markdown" and RUN_HEADING.match(cell.source.lstrip()) is not None


def output_text(out) -> str:
    "The text a reader would see in one output (stream text or the plain/html representations)."
    if out.get("output_type") == "stream": return out.get("text", "")
    if out.get("output_type") == "error": return "\n".join(out.get("traceback", []))
    data = out.get("data", {})
    return "\n".join(str(data.get(k, "")) for k in ("text/plain", "text/html", "text/markdown"))


def unstable(out) -> bool:
    "An output that would differ between machines or runs: stderr, an error, a machine path or a duration."
    if out.get("output_type") == "stream" and out.get("name") == "stderr": return True
    if out.get("output_type") == "error": return True
    if "application/vnd.jupyter.widget-view+json" in out.get("data", {}): return True
    text = output_text(out)
    return bool(MACHINE_PATH.search(text) or DURATION.search(text) or TEMP_NAME.search(text))


def keep_stable(nb) -> int:
    "Drop the Run half's outputs, every unstable output and widget state; returns how many outputs stay."
    kept, in_run = 0, False
    nb.metadata.pop("widgets", None)  # progress-bar widget state (random model ids) that nbdev_clean keeps
    for cell in nb.cells:
        if is_run_heading(cell): in_run = True
        if cell.cell_type != "code": continue
        cell.execution_count = None
        cell.outputs = [] if in_run else [o for o in cell.outputs if not unstable(o)]
        for o in cell.outputs:
            if "execution_count" in o: o["execution_count"] = None
        kept += len(cell.outputs)
    return kept


def fill(path: Path, timeout: int) -> int:
    "Execute one notebook in nbs/ (its own folder as working directory) and write back its stable outputs."
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    kept = keep_stable(nb)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    return kept


def check(paths) -> list[str]:
    "Committed outputs that hold a machine path or a timing, as 'notebook cell N' lines."
    bad = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if "widgets" in nb.metadata: bad.append(f"{path.relative_to(ROOT)} metadata.widgets")
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and any(unstable(o) for o in cell.outputs):
                bad.append(f"{path.relative_to(ROOT)} cell {i}")
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="notebooks to fill (default: every nbs/*.ipynb but index)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds one cell may run")
    ap.add_argument("--check", action="store_true", help="only check committed outputs for paths and timings")
    a = ap.parse_args(argv)
    paths = [p.resolve() for p in a.notebooks] or sorted(p for p in (ROOT/"nbs").glob("*.ipynb") if p.name != "index.ipynb")
    if a.check:
        bad = check(paths)
        for b in bad: print(f"unstable output (a machine path or a timing): {b}")
        return 1 if bad else 0
    for p in paths:
        print(f"{p.relative_to(ROOT)}: {fill(p, a.timeout)} outputs kept", flush=True)
    subprocess.run(["nbdev_clean"], cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
