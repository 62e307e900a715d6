#!/usr/bin/env python
"""Real-data scoreboard: the chain (profile `real`) on each real data folder, the same models on the twin, bench/REAL.md.

    .venv/bin/python bench/real_scoreboard.py ../shared/realdata/amazon2025_dev        # real dev set + the twin
    .venv/bin/python bench/real_scoreboard.py DIR1 DIR2 --no-twin
    .venv/bin/python bench/real_scoreboard.py ../shared/realdata/amazon2025_dev --collect-only   # rewrite REAL.md only

Each folder runs `spam_run --data DIR --profile real --run real_<folder>` (a folder with `test_truth.csv` gets every
model and the blend scored on its test rows). The twin runs the same profile without `--data` (a dev-set-sized twin,
configs/real/twin.yaml) and without its image block (`--set 02_embed.image_encoder=`), because the real runs here are
text-only (image links unreachable offline): like is compared with like.
REAL.md: per model OOF and test SMAPE, the in-chain peers (TF-IDF + Ridge `tfidf`, TF-IDF -> SVD -> LightGBM
`peer_svd_lgbm`), the blend before/after calibration, blend / best peer, seconds and peak memory per stage, and each
model's OOF rank on the twin beside its rank on the first real folder, with Kendall's tau between the two rankings.
A "## Notes" section already in REAL.md (written by hand) is kept when the file is regenerated. Runs on demand, never in CI.
"""
import argparse, json, math, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from run_scale import machine  # noqa: E402
from spam_llms.synth import ranking_agreement  # noqa: E402

PEERS = {"tfidf": "TF-IDF word+char -> Ridge (log1p)", "peer_svd_lgbm": "TF-IDF -> SVD -> LightGBM"}

def spam_run(run:str, data:str|None, profile:str, seed:int, extra:list, force:bool) -> Path:
    "One chain run into outputs/<run>/ (stages already complete with the same parameters are skipped)."
    cmd = [str(ROOT/".venv/bin/spam_run"), "--profile", profile, "--run", run, "--seed", str(seed), *(["--data", data] if data else []),
           *(["--force"] if force else []), *extra]
    print("$", " ".join(cmd), flush=True); t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "SPAM_LLMS_ROOT": str(ROOT)})
    print(f"{run}: {time.time() - t0:.0f}s", flush=True)
    return ROOT/"outputs"/run

def collect(run_dir:Path) -> dict:
    "Seconds, peak memory and the submission stage's per-model OOF / test SMAPE of one run."
    chain = json.loads((run_dir/"chain.json").read_text())
    marks = {m.stem: json.loads(m.read_text()) for m in sorted((run_dir/".stages").glob("*.json"))}  # the run that made each stage
    seconds = {"data": chain["seconds"].get("data", 0.0)} | {s: marks[s]["seconds"] for s in chain["seconds"] if s in marks}
    sub = json.loads((run_dir/"submission/metrics.json").read_text())
    return {"seconds": seconds, "peak_mb": {s: marks[s]["peak_mb"] for s in seconds if s in marks}, "oof": sub["models"], "test": sub.get("test_smape", {}),
            "weights": sub.get("weights", {}), "sub": sub, "n_train": sub["n_train"], "n_test": sub["n_test"]}

def ranking(scores:dict, names:list) -> dict:
    "Rank (1 = best, lowest SMAPE) of each named model."
    order = sorted(names, key=lambda n: scores[n]); return {n: order.index(n) + 1 for n in names}

def fmt(x, bold=False) -> str:
    if x is None: return "n/a"
    return f"**{x:.2f}**" if bold else f"{x:.2f}"

def model_rows(r:dict) -> list:
    s = r["sub"]; best_peer = min((r["test"].get(p) for p in PEERS if p in r["test"]), default=None)
    rows = ["| model | OOF SMAPE | test SMAPE | blend weight |", "|---|---:|---:|---:|"]
    for n in sorted(r["oof"], key=r["oof"].get):
        tag = f" (peer: {PEERS[n]})" if n in PEERS else ""
        rows.append(f"| {n}{tag} | {fmt(r['oof'][n])} | {fmt(r['test'].get(n))} | {r['weights'].get(n, 0):.3f} |")
    cal = s.get("calibration") or {}
    rows.append(f"| blend ({s['mode']}, nested) | {fmt(s['blend_oof_smape_uncalibrated'])} | {fmt(s.get('blend_test_smape_uncalibrated'))} | |")
    if cal: rows.append(f"| blend + log shift {cal['shift']:+.3f} ({'applied' if cal['applied'] else 'not applied'}) | "
                        f"{fmt(cal['oof_smape_after'])} | {fmt(s.get('blend_test_smape_calibrated'))} | |")
    rows.append(f"| **submission (final blend)** | {fmt(s['blend_oof_smape'], True)} | {fmt(s.get('blend_test_smape'), True)} | |")
    if best_peer and s.get("blend_test_smape"): rows += ["", f"Blend / best peer on test: {s['blend_test_smape']:.2f} / {best_peer:.2f} = "
                                                           f"**{s['blend_test_smape'] / best_peer:.3f}**."]
    return rows

def stage_rows(runs:dict) -> list:
    names = list(runs); stages = list(dict.fromkeys(s for r in runs.values() for s in r["seconds"]))
    rows = ["| stage | " + " | ".join(f"{n} s | {n} peak MB" for n in names) + " |", "|---|" + "---:|---:|" * len(names)]
    for st in stages:
        rows.append(f"| {st} | " + " | ".join(f"{r['seconds'].get(st, float('nan')):,.1f} | {r['peak_mb'].get(st, float('nan')):,.0f}" for r in runs.values()) + " |")
    rows.append("| **total** | " + " | ".join(f"**{sum(r['seconds'].values()):,.1f}** ({sum(r['seconds'].values()) / 60:.1f} min) | " for r in runs.values()) + " |")
    return rows

def write_real(runs:dict, twin:dict|None, cmdline:str, path:Path):
    old = path.read_text() if path.exists() else ""
    notes = old.split("\n## Notes", 1)[1] if "\n## Notes" in old else None
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    L = ["# Real-data scoreboard", "", f"Produced by: `{cmdline}`  ", f"Machine: {machine()}  ",
         f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {head}  ",
         "Profile: `real` (configs/real/). OOF = 5-fold out-of-fold SMAPE on the train rows; test = SMAPE of the test predictions "
         "against `test_truth.csv`. Lower is better. Small data (5.6k rows) puts absolute SMAPE ~10 points above leaderboard numbers: "
         "compare models with each other.", ""]
    for name, r in runs.items():
        L += [f"## {name}: {r['n_train']:,} train + {r['n_test']:,} test rows", ""] + model_rows(r) + [""]
    L += ["## Seconds and peak memory per stage", ""] + stage_rows(runs | ({"twin": twin} if twin else {})) + [""]
    if twin:
        first = next(iter(runs)); r = runs[first]
        real_all = r["oof"] | {"blend": r["sub"]["blend_oof_smape"]}; twin_all = twin["oof"] | {"blend": twin["sub"]["blend_oof_smape"]}
        ra = ranking_agreement(twin_all, real_all); tau, common = ra["tau"], ra["models"]; rt, rr = ranking(twin_all, common), ranking(real_all, common)
        L += [f"## Twin vs real: do they rank the models alike? ({first})", "",
              f"The twin: {twin['n_train']:,} + {twin['n_test']:,} synthetic rows, same profile, image block off (the real runs are text-only).", "",
              "| model | twin OOF | twin rank | real OOF | real rank |", "|---|---:|---:|---:|---:|"]
        for n in sorted(common, key=rr.get): L.append(f"| {n} | {twin_all[n]:.2f} | {rt[n]} | {real_all[n]:.2f} | {rr[n]} |")
        g_t, g_r = ra["gap_a"], ra["gap_b"]  # TF-IDF peer minus towers, NaN where either is missing
        L += ["", f"Kendall's tau (twin vs real OOF ranking, {len(common)} models incl. the blend): **{tau:.2f}**" +
              (f"; TF-IDF peer minus towers: twin {g_t:+.2f}, real {g_r:+.2f}." if not math.isnan(g_t + g_r) else "."), ""]
    if notes is not None: L.append("## Notes" + notes.rstrip("\n"))
    path.write_text("\n".join(L) + "\n"); print(f"wrote {path}", flush=True)

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", help="real data folders (train.csv, test.csv, optional test_truth.csv)")
    ap.add_argument("--profile", default="real"); ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-twin", action="store_true", help="skip the twin run and the ranking comparison")
    ap.add_argument("--force", action="store_true", help="rerun every stage"); ap.add_argument("--out", default=str(ROOT/"bench/REAL.md"))
    ap.add_argument("--collect-only", action="store_true", help="rebuild REAL.md from existing outputs/real_* runs")
    a, extra = ap.parse_known_args()
    cmdline = "python bench/real_scoreboard.py " + " ".join(sys.argv[1:])
    runs = {}
    for d in a.data:
        run = f"real_{Path(d).resolve().name}"
        runs[Path(d).resolve().name] = collect(ROOT/"outputs"/run if a.collect_only else spam_run(run, str(Path(d).resolve()), a.profile, a.seed, extra, a.force))
        write_real(runs, None, cmdline, Path(a.out))
    twin = None
    if not a.no_twin:
        run = f"real_twin_{a.profile}"
        twin = collect(ROOT/"outputs"/run if a.collect_only else spam_run(run, None, a.profile, a.seed, ["--set", "02_embed.image_encoder=", *extra], a.force))
    write_real(runs, twin, cmdline, Path(a.out))
