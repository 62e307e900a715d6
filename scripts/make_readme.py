#!/usr/bin/env python
"""README.md from nbs/index.ipynb, the way `nbdev_readme` would make it, with the numbers read from bench/real.json.

    python scripts/make_readme.py           # execute nbs/index.ipynb, write README.md
    python scripts/make_readme.py --check   # exit 1 (and show the diff) when README.md is not what the notebook makes

Why not `nbdev_readme` itself: it shells out to Quarto (`quarto render ... -t gfm --no-execute`), and Quarto cannot be
installed from the registries this project may use (PyPI's `quarto-cli` is a source package that downloads the
Quarto binary from GitHub while it installs). `--no-execute` would also render the saved outputs, and notebooks are
committed clean. So this script does the two steps itself, with the same conventions:
1. run every code cell of the notebook in one IPython shell (execnb's `CaptureShell`, as `nbdev_test` does, in nbs/);
2. render: markdown cells as written; a code cell shows its source in a ```python block unless it says
   `#| echo: false` (or `#| hide`), and its printed output in a plain block, or as markdown with `#| output: asis`;
   `#| output: false` and `#| hide` show no output; `#| eval: false` cells are shown, not run.
The cells that print the results table read bench/real.json (`spam_llms.synth.load_scoreboard`), which
bench/real_scoreboard.py writes, so no score is typed into the README. run_tests.sh (CI) regenerates README.md and fails
when it changed.
"""
import argparse, difflib, json, os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB, README = ROOT/"nbs"/"index.ipynb", ROOT/"README.md"
HEADER = "<!-- generated from nbs/index.ipynb by scripts/make_readme.py (numbers: bench/real.json): edit those, not this file -->"

def directives(src:str) -> tuple[dict, str]:
    "Leading `#| key: value` (or `#| flag`) lines of a code cell, and the source without them."
    lines, d = src.splitlines(), {}
    while lines and lines[0].startswith("#|"):
        k, _, v = lines.pop(0)[2:].strip().partition(":"); d[k.strip()] = v.strip() or True
    return d, "\n".join(lines).strip("\n")

def _text(outputs:list, asis:bool) -> str:
    "Printed text, results and markdown of a cell's outputs; errors are raised by the caller."
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream" and o.get("name") == "stdout": parts.append("".join(o["text"]))
        elif o.get("output_type") in ("execute_result", "display_data"):
            data = o.get("data", {})
            if "text/markdown" in data: parts.append("".join(data["text/markdown"]) + "\n")
            elif "text/plain" in data: parts.append("".join(data["text/plain"]) + "\n")
    out = "".join(parts).strip("\n")
    return out if asis or not out else f"```\n{out}\n```"

def render(nb_path:Path=NB) -> str:
    "Execute the notebook's code cells in order and return the README's markdown."
    from execnb.shell import CaptureShell
    nb = json.loads(Path(nb_path).read_text())
    shell, blocks, cwd = CaptureShell(Path(nb_path).parent.resolve()), [HEADER], os.getcwd()
    os.chdir(Path(nb_path).parent)
    try:
        for i, cell in enumerate(nb["cells"]):
            src = "".join(cell["source"])
            if cell["cell_type"] == "markdown": blocks.append(src.strip("\n")); continue
            if cell["cell_type"] != "code": continue
            d, code = directives(src)
            outputs = []
            if str(d.get("eval", "true")).lower() != "false":
                outputs = shell.run(src)
                if shell.exc is not None: raise RuntimeError(f"{nb_path} cell {i} failed: {shell.exc!r}\n{code}")
            if not (d.get("hide") or str(d.get("echo", "true")).lower() == "false") and code: blocks.append(f"```python\n{code}\n```")
            if not d.get("hide") and str(d.get("output", "true")).lower() != "false":
                out = _text(outputs, asis=d.get("output") == "asis")
                if out: blocks.append(out)
    finally: os.chdir(cwd)
    return "\n\n".join(b for b in blocks if b) + "\n"

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="do not write: exit 1 when README.md differs from what the notebook makes")
    a = ap.parse_args(argv)
    os.environ["SPAM_LLMS_ROOT"] = str(ROOT)  # the notebook reads this checkout's bench/real.json, whatever the caller's root
    new = render()
    old = README.read_text() if README.exists() else ""
    if a.check:
        if new == old: print("README.md is in sync with nbs/index.ipynb and bench/real.json"); return 0
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "README.md (committed)", "README.md (from nbs/index.ipynb)"))
        print("FAIL: README.md is not what nbs/index.ipynb makes; run python scripts/make_readme.py and commit the result"); return 1
    if new != old:
        tmp = README.with_name(".README.md.tmp"); tmp.write_text(new); os.replace(tmp, README)
    print(f"wrote {README} ({new.count(chr(10))} lines)" if new != old else f"{README} unchanged ({new.count(chr(10))} lines)"); return 0

if __name__ == "__main__": sys.exit(main())
