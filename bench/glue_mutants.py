"""Hand-written mutants of the glue (realistic one-line bugs) against the tests that should catch them: the score of the
test suite on the bugs issue 37 named. Not mutmut / cosmic-ray (a full mutation run is not done yet); not CI.

    .venv/bin/python bench/glue_mutants.py                 # every mutant; prints KILLED / SURVIVED and the score
    .venv/bin/python bench/glue_mutants.py --out bench/glue_mutants.json

Each mutant edits one line of a generated module in place, runs its targeted tests, and restores the file's exact text
(also on Ctrl-C). Run it on a clean checkout: it refuses to start when spam_llms/ has uncommitted changes.
"""
from __future__ import annotations
import argparse, json, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = [  # (name, module, original text, mutated text, tests)
    ("04b nested features leak", "spam_llms/sparse_mlp.py", "holdout=f, ks=ks", "holdout=None, ks=ks",
     ["tests/test_sparse_mlp.py", "-k", "neighbour_inputs_on_real"]),
    ("blend: test predictions unclipped", "spam_llms/submit.py", '"test": blend_predict(T, w, b, lo, hi)', '"test": blend_predict(T, w, b)', ["tests/test_submit.py"]),
    ("blend: nested OOF unclipped", "spam_llms/submit.py", "out[~fit] = blend_predict(P[~fit], w, b, y[fit].min(), y[fit].max())",
     "out[~fit] = blend_predict(P[~fit], w, b)", ["tests/test_submit.py"]),
    ("blend: objective unclipped", "spam_llms/submit.py", "blend_predict(P, x[:M], x[M] if aff else 0.0, lo, hi))",
     "blend_predict(P, x[:M], x[M] if aff else 0.0))", ["tests/test_submit.py"]),
    ("fractional sample_id accepted", "spam_llms/data.py", "    if bad.any():\n        i = int(np.flatnonzero(bad.to_numpy())[0])\n        raise DataError(f\"{path}: row {i+1}: field sample_id",
     "    if False:\n        i = int(np.flatnonzero(bad.to_numpy())[0])\n        raise DataError(f\"{path}: row {i+1}: field sample_id", ["tests/test_data.py", "tests/test_fuzz.py"]),
    ("sparse MLP cache ignores prices and text", "spam_llms/sparse_mlp.py", '"inputs": inputs_digest(', '"inputs": "" and inputs_digest(',
     ["tests/test_sparse_mlp.py", "-k", "changed_prices"]),
    ("stage marker ignores the data", "spam_llms/pipeline.py", '| ({"inputs": inputs} if inputs else {})', "", ["tests/test_faults.py", "-k", "marker_is_keyed"]),
]


def run_mutant(module:str, old:str, new:str, tests:list[str]) -> bool:
    "Apply, test, restore; True when the tests fail (the mutant is killed)."
    f = ROOT/module; text = f.read_text()
    if text.count(old) != 1: raise SystemExit(f"{module}: the original text of a mutant is not there exactly once: {old[:60]!r}")
    try:
        f.write_text(text.replace(old, new))
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=ROOT, capture_output=True, text=True)
        return r.returncode != 0
    finally: f.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the mutants whose name contains this text")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args()
    if subprocess.run(["git", "diff", "--quiet", "--", "spam_llms"], cwd=ROOT).returncode: raise SystemExit("spam_llms/ has uncommitted changes; commit or stash them first")
    res = {}
    for name, module, old, new, tests in MUTANTS:
        if a.only and a.only not in name: continue
        t0 = time.time(); killed = run_mutant(module, old, new, tests)
        res[name] = {"killed": killed, "tests": " ".join(tests), "seconds": round(time.time() - t0, 1)}
        print(f"{'KILLED  ' if killed else 'SURVIVED'} {name}  ({' '.join(tests)}, {res[name]['seconds']} s)", flush=True)
    print(f"score: {sum(r['killed'] for r in res.values())} of {len(res)} killed")
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__": main()
