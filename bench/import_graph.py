#!/usr/bin/env python
"""Import cycles among the package's modules (function-local imports included), from grimp's import graph.

    .venv/bin/python bench/import_graph.py [--root DIR]     # DIR: a checkout to measure (default: this one)
"""
import argparse, sys
from pathlib import Path

def cycles(root:Path) -> list[list[str]]:
    "Strongly connected groups of two or more modules (each is an import circle)."
    sys.path.insert(0, str(root)); import grimp
    g = grimp.build_graph("spam_llms", include_external_packages=False)
    mods = sorted(m for m in g.modules if m != "spam_llms")
    edges = {m: {d for d in g.find_modules_directly_imported_by(m) if d in mods} for m in mods}
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):  # Tarjan
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for m in mods:
        if m not in index: visit(m)
    return out

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    c = cycles(Path(ap.parse_args().root)); print(f"import cycles: {len(c)}"); [print("  " + " <-> ".join(x)) for x in c]
