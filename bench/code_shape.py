#!/usr/bin/env python
"""The shape of the package, measured: the largest function signatures, module sizes, export-cell sizes.

    .venv/bin/python bench/code_shape.py            # a table on stdout
    .venv/bin/python bench/code_shape.py --json     # the same numbers as JSON

Parameters are counted with `ast` as written in the signature: positional-only + positional + keyword-only (``*args`` and
``**kwargs`` not counted). Export cells are the notebooks' `#| export` cells, counted in source lines.
"""
import argparse, ast, json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def signatures(pkg:Path) -> list[tuple[int, str, str]]:
    "(parameter count, module, function) for every function and method in the package."
    out = []
    for f in sorted(pkg.glob("*.py")):
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = n.args; out.append((len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs), f.stem, n.name))
    return sorted(out, reverse=True)

def module_lines(pkg:Path) -> dict[str, int]:
    "Lines per module (the generated _modidx.py aside)."
    return {f.stem: len(f.read_text().splitlines()) for f in sorted(pkg.glob("*.py")) if f.name != "_modidx.py"}

def export_cells(nbs:Path) -> list[int]:
    "Source lines of every `#| export` cell of the notebooks."
    sizes = []
    for nb in sorted(nbs.glob("*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            src = "".join(c["source"])
            if c["cell_type"] == "code" and src.startswith("#| export"): sizes.append(len(src.splitlines()) - 1)
    return sizes

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument("--json", action="store_true")
    ap.add_argument("--root", default=str(ROOT), help="repository to measure (default: this one)"); a = ap.parse_args(); root = Path(a.root)
    sig, mods, cells = signatures(root/"spam_llms"), module_lines(root/"spam_llms"), export_cells(root/"nbs")
    rep = {"largest_signatures": [{"params": n, "function": f"{m}.{fn}"} for n, m, fn in sig[:10]],
           "modules_over_500_lines": {m: n for m, n in mods.items() if n > 500}, "export_cells": len(cells),
           "export_cells_over_20_lines": sum(n > 20 for n in cells), "export_cells_over_15_lines": sum(n > 15 for n in cells)}
    if a.json: print(json.dumps(rep, indent=1)); return
    print("largest signatures:"); [print(f"  {r['params']:3d}  {r['function']}") for r in rep["largest_signatures"]]
    print(f"modules over 500 lines: {rep['modules_over_500_lines'] or 'none'}")
    print(f"export cells: {rep['export_cells']}, over 15 lines: {rep['export_cells_over_15_lines']}, over 20 lines: {rep['export_cells_over_20_lines']}")

if __name__ == "__main__": main()
