"""Mutation testing of the core modules with mutmut: how many one-token bugs in the metric, the reader, the folds, the
neighbour features, the blend, the submission writer and the model stages' fold wiring the pytest suite catches.

    .venv/bin/python bench/mutation.py                        # every area; resumes where a killed run stopped
    .venv/bin/python bench/mutation.py --areas metric,reader   # some areas
    .venv/bin/python bench/mutation.py --out bench/mutation.json

Each area runs mutmut (3.x, `requirements.txt`) in its own copy of this checkout under `bench/_work/mutation/<area>/`
with the area's functions (mutmut's mutant-name globs) and the tests that are meant to guard them, so a mutant is
judged by the tests written for its code and not by the whole 20-minute suite. mutmut keeps its verdicts next to the
mutants, so a rerun after a kill or after new tests only checks what is not decided yet (`--fresh` starts the areas
over, so that their survivors are judged by the tests as they are now). The selected test files must be tracked by git. The script prints and writes, per area: killed / survived / no test reached it / timed out, the score (killed over
all mutants: a timeout or a mutant no selected test reaches is not a kill), and every survivor's diff. Verdicts on the survivors (harmless or a test gap) are in
`bench/MUTATION.md`. Not a test, not CI: a full run takes the better part of an hour on 2 cores.
"""
from __future__ import annotations
import argparse, datetime, filecmp, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT/"bench"/"_work"/"mutation"
AREAS = {  # area: (source files, mutant-name globs, pytest selection)
    "metric": (["spam_llms/core.py"], ["spam_llms.core.x_smape*"], ["tests/test_core.py"]),
    "reader": (["spam_llms/data.py"], ["spam_llms.data.x__decode*", "spam_llms.data.x__check_*", "spam_llms.data.x__last_record_line*",
                                       "spam_llms.data.x_csv_parse_message*", "spam_llms.data.x_read_challenge_csv*", "spam_llms.data.x_load_challenge*"],
               ["tests/test_data.py", "tests/test_fuzz.py", "tests/test_preflight.py", "-k", "column or image or outputs",
                "tests/test_pipeline.py", "-k", "data_must_be or cut_off"]),
    "folds": (["spam_llms/preprocess.py"], ["spam_llms.preprocess.x_make_folds*", "spam_llms.preprocess.x_fold_leaks*"],
              ["tests/test_preprocess.py", "-k", "folds or fold_leaks"]),
    "neighbours": (["spam_llms/knn.py"], ["spam_llms.knn.x_oof_neighbours*", "spam_llms.knn.x__valid_first*", "spam_llms.knn.x_knn_price_features*",
                                          "spam_llms.knn.x_fold_knn_features*", "spam_llms.knn.x_weighted_median*"],
                   ["tests/test_knn.py", "tests/test_gbm.py", "-k", "leak or nested", "tests/test_sparse_mlp.py", "-k", "nested_on"]),
    "blend": (["spam_llms/submit.py"], ["spam_llms.submit.x_blend_predict*", "spam_llms.submit.x__starts*", "spam_llms.submit.x_fit_blend*",
                                        "spam_llms.submit.x_nested_blend*", "spam_llms.submit.x_choose_blend*"], ["tests/test_submit.py"]),
    "submission": (["spam_llms/submit.py"], ["spam_llms.submit.x_validate_submission*", "spam_llms.submit.x_write_submission*",
                                             "spam_llms.submit.x_blend_stage*"], ["tests/test_submit.py"]),
    "stage wiring": (["spam_llms/gbm.py", "spam_llms/sparse_mlp.py"],  # the neighbour features' fold plumbing of 04 and 04b's CV loop
                     ["spam_llms.gbm.x_lgbm_features*", "spam_llms.sparse_mlp.x_cv_sparse_mlp*"],
                     ["tests/test_gbm.py", "-k", "leak or nested or deterministic or unit_price or item_name or wire or gpu_only_when", "tests/test_sparse_mlp.py", "-k", "never_see or nested_on or resume or averages"]),
    "cv loops": (["spam_llms/runio.py", "spam_llms/towers.py", "spam_llms/gbm.py"],  # the shared CV loop, the towers' and LightGBM's (cv_lgbm*: and its seeds)
                 ["spam_llms.runio.x_cv_predict*", "spam_llms.towers.x_cross_validate*", "spam_llms.gbm.x_cv_lgbm*"],
                 ["tests/test_runio.py", "tests/test_towers.py", "-k", "cross_validate_wires or same_seed or scaler_ignores",
                  "tests/test_gbm.py", "-k", "cv_lgbm_wires or seeds_average or leak or deterministic"]),
}
STATUS = {"killed": "killed", "survived": "survived", "no tests": "no_tests", "timeout": "timeout", "suspicious": "suspicious",
          "segfault": "killed", "skipped": "skipped", "not checked": "not_checked", "check was interrupted by user": "not_checked", "caught by type check": "killed"}


def _files(tests:list[str]) -> list[tuple[str, str|None]]:
    "The test files of a selection, each with its `-k` expression (or None)."
    return [(t, tests[i + 2] if i + 2 < len(tests) and tests[i + 1] == "-k" else None)
            for i, t in enumerate(tests) if t != "-k" and not (i and tests[i - 1] == "-k")]


def _selection(tests:list[str]) -> list[str]:
    "pytest node selection for mutmut: `-k` applies to the file before it, so each file becomes file::test ids via collection."
    out = []
    for t, k in _files(tests):
        r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", t, *(["-k", k] if k else [])],
                           cwd=ROOT, capture_output=True, text=True)
        out += [l.strip() for l in r.stdout.splitlines() if "::" in l]
    return out


def _sync(dst:Path):
    "Copy the checkout's tracked files (as they are in the working tree) into dst, touching only the ones that differ."
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\n")
    for f in filter(None, files):
        s, d = ROOT/f, dst/f
        if not s.is_file() or (d.is_file() and filecmp.cmp(s, d, shallow=False)): continue
        d.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(s, d)


def _config(sources:list[str], tests:list[str]) -> str:
    "The [tool.mutmut] table of an area."
    q = lambda xs: "[" + ", ".join(json.dumps(x) for x in xs) + "]"
    return (f"\n[tool.mutmut]\nsource_paths = [\"spam_llms/\"]\nonly_mutate = {q(sources)}\npytest_add_cli_args = [\"-p\", \"no:cacheprovider\"]\n"
            "process_isolation = \"forkserver\"\n"  # torch and faiss thread pools do not survive a fork of the process that ran the tests: such mutants hang
            f"pytest_add_cli_args_test_selection = {q(tests)}\nalso_copy = [\"configs\", \"settings.ini\", \"bench\", \"scripts\", \"nbs\", \"kaggle\"]\n")


def run_area(name:str, max_children:int, fresh:bool=False) -> dict:
    "Run (or resume) one area; returns its counts and survivors."
    sources, globs, tests = AREAS[name]; d = WORK/re.sub(r"\W+", "_", name)
    untracked = [f for f, _ in _files(tests) if subprocess.run(["git", "ls-files", "--error-unmatch", f], cwd=ROOT, capture_output=True).returncode]
    if untracked: raise SystemExit(f"{name}: test file(s) {untracked} are not tracked by git; `git add` them (the area's copy holds tracked files only)")
    if fresh and d.exists(): shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    _sync(d); sel = _selection(tests)
    if not sel: raise SystemExit(f"{name}: the test selection {' '.join(tests)} collects no test")
    base = (ROOT/"pyproject.toml").read_text(); (d/"pyproject.toml").write_text(base + _config(sources, sel))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TERM": "dumb"}
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "mutmut", "run", *globs, "--max-children", str(max_children)], cwd=d, env=env, capture_output=True, text=True)
    if r.returncode: sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:]); raise SystemExit(f"{name}: mutmut run failed ({r.returncode})")
    res = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=d, env=env, capture_output=True, text=True, check=True).stdout
    pat = [re.compile(fnmatch_re(g)) for g in globs]; status = {}
    for line in res.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m and any(p.match(m[1]) for p in pat): status[m[1]] = STATUS.get(m[2].strip(), m[2].strip())
    counts = {s: sum(v == s for v in status.values()) for s in ("killed", "survived", "no_tests", "timeout", "suspicious", "not_checked")}
    checked = counts["killed"] + counts["survived"] + counts["timeout"] + counts["suspicious"] + counts["no_tests"]
    survivors = []
    for m_, s in sorted(status.items(), key=lambda kv: _natural(kv[0])):
        if s in ("survived", "no_tests"):
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", m_], cwd=d, env=env, capture_output=True, text=True).stdout
            lines = [l for l in diff.splitlines() if l[:1] in "+-" and not l.startswith(("+++", "---"))]
            survivors.append({"mutant": m_, "status": s, "kind": _kind(lines), "diff": lines})
    doc = sum(v["kind"] == "docstring" for v in survivors); caught = counts["killed"]  # a timeout is not a kill: it can be a hang of the harness
    return {"sources": sources, "functions": globs, "tests": " ".join(tests), "n_tests": len(sel), "mutants": len(status), **counts,
            "docstring_survivors": doc, "score": round(caught / checked, 3) if checked else None,
            "score_without_docstrings": round(caught / (checked - doc), 3) if checked > doc else None, "seconds": round(time.time() - t0), "survivors": survivors}


def _kind(lines:list[str]) -> str:
    "docstring: the mutant only rewrites a function's one-line docstring (no behaviour can see it); code otherwise."
    body = [l[1:].strip() for l in lines]
    return "docstring" if len(body) == 2 and all(re.fullmatch(r'[rbuRBU]?(\"\"\"|\"|\')(.*)\1', b) for b in body) else "code"


def fnmatch_re(glob:str) -> str: "A mutant-name glob as a regex."; return re.escape(glob).replace(r"\*", ".*") + "$"
def _natural(s:str): return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--areas", default=",".join(AREAS), help=f"comma-separated, from: {', '.join(AREAS)}")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 1, help="mutants tested at once")
    ap.add_argument("--out", default=None, help="write the results as JSON here (merged into an existing file's areas)")
    ap.add_argument("--fresh", action="store_true", help="start each area over (its survivors are judged again by the tests as they are now)")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.areas.split(",") if n.strip()]
    bad = [n for n in names if n not in AREAS]
    if bad: raise SystemExit(f"--areas: unknown {bad}; choose from {list(AREAS)}")
    out = json.loads(Path(a.out).read_text()) if a.out and Path(a.out).exists() else {}
    out.update({"command": "python bench/mutation.py " + " ".join(argv or sys.argv[1:]), "date": datetime.date.today().isoformat(),
                "mutmut": subprocess.run([sys.executable, "-m", "mutmut", "--version"], capture_output=True, text=True).stdout.strip()})
    out.setdefault("areas", {})
    for n in names:
        r = run_area(n, a.max_children, a.fresh)
        out["areas"][n] = {"command": "python bench/mutation.py " + " ".join(argv or sys.argv[1:]), "date": out["date"], **r}
        print(f"{n:13s} {r['mutants']:4d} mutants: killed {r['killed']}, survived {r['survived']} ({r['docstring_survivors']} docstrings), no test {r['no_tests']},"
              f" timeout {r['timeout']} -> score {r['score']}, {r['score_without_docstrings']} without docstring mutants  ({r['seconds']} s)", flush=True)
        for s in r["survivors"]:
            if s["kind"] == "code": print(f"   {s['status']:9s} {s['mutant']}: {' | '.join(s['diff'])[:200]}")
        if a.out: Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    tot = {k: sum(r[k] for r in out["areas"].values()) for k in ("mutants", "killed", "survived", "no_tests", "timeout")}
    print(f"all areas: {tot}; score {tot['killed'] / max(tot['mutants'], 1):.3f}")


if __name__ == "__main__": main()
