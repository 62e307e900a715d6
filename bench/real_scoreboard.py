#!/usr/bin/env python
"""Real-data scoreboard: the chain (profile `real`) on each real data folder, the same models on the twin; writes
bench/REAL.md and bench/real.json (the one source of the README's results table and of 00c_synth's real scores).

    .venv/bin/python bench/real_scoreboard.py ../shared/realdata/amazon2025_dev        # real dev set + the twin
    .venv/bin/python bench/real_scoreboard.py DIR1 DIR2 --no-twin
    .venv/bin/python bench/real_scoreboard.py ../shared/realdata/amazon2025_dev --collect-only   # rewrite from outputs/
    .venv/bin/python bench/real_scoreboard.py ../shared/realdata/amazon2025_dev --collect-only \\
        --real-run outputs/real --twin-run outputs/default        # collect runs that ./run_all.sh already made

Each folder runs `spam_run --data DIR --profile real --run real_<folder>` (a folder with `test_truth.csv` gets every
model and the blend scored on its test rows). The twin runs the same profile without `--data` (a dev-set-sized twin,
configs/real/twin.yaml) and without its image block (`--set 02_embed.image_encoder=`), because the real runs here are
text-only (image links unreachable offline): like is compared with like.
`--collect-only` runs nothing: it reads outputs/real_<folder> and outputs/real_twin_<profile>, or the run folders named
by `--real-run DIR` (once per data folder, in order) and `--twin-run DIR` (any twin run, e.g. the quick start's
outputs/default: its blend and oracle floor are what the README shows for the twin).
REAL.md: per model OOF and test SMAPE, the in-chain peers (TF-IDF + Ridge `tfidf`, TF-IDF -> SVD -> LightGBM
`peer_svd_lgbm`), the blend before/after calibration, blend / best peer, seconds and peak memory per stage, and each
model's OOF rank on the twin beside its rank on the first real folder, with Kendall's tau between the two rankings.
A "## Notes" section already in REAL.md (written by hand) is kept when the file is regenerated.
real.json (beside REAL.md, written atomically): the same numbers, machine-readable, with the run folders, their commit and
date, the machine and this command, and every score's 95% bootstrap interval (06_submission's metrics.json); then
README.md is regenerated from nbs/index.ipynb (scripts/make_readme.py).
`--publish DIR` (docs/runs) also copies, from the same runs, each one's executed notebooks (with their outputs) and its
report (06b_report) into DIR/real_dev/ (the first data folder) and DIR/twin/, with the machine's absolute paths made
relative, and screenshots the real report's first screen (headless Chromium, where installed): the published pictures
and the numbers above come from the same two runs. Nothing written here holds an absolute path of this machine.
Runs on demand, never in CI.
"""
import argparse, json, math, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from run_scale import machine  # noqa: E402
from spam_llms.core import atomic_path  # noqa: E402
from spam_llms.synth import ranking_agreement  # noqa: E402

PEERS = {"tfidf": "TF-IDF word+char -> Ridge (log1p)", "peer_svd_lgbm": "TF-IDF -> SVD -> LightGBM"}
SCHEMA = 1

def spam_run(run:str, data:str|None, profile:str, seed:int, extra:list, force:bool) -> Path:
    "One chain run into outputs/<run>/ (stages already complete with the same parameters are skipped)."
    cmd = [str(ROOT/".venv/bin/spam_run"), "--profile", profile, "--run", run, "--seed", str(seed), *(["--data", data] if data else []),
           *(["--force"] if force else []), *extra]
    print("$", " ".join(cmd), flush=True); t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "SPAM_LLMS_ROOT": str(ROOT)})
    print(f"{run}: {time.time() - t0:.0f}s", flush=True)
    return ROOT/"outputs"/run

def _git_commit(folder:Path) -> str|None:
    "Short commit of the checkout that holds `folder` (None outside a git checkout)."
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True)
    return r.stdout.strip() or None if r.returncode == 0 else None

def collect(run_dir:Path) -> dict:
    "Seconds, peak memory, the submission stage's per-model OOF / test SMAPE and where the run came from."
    run_dir = Path(run_dir).resolve()
    chain = json.loads((run_dir/"chain.json").read_text())
    marks = {m.stem: json.loads(m.read_text()) for m in sorted((run_dir/".stages").glob("*.json"))}  # the run that made each stage
    seconds = {"data": chain["seconds"].get("data", 0.0)} | {s: marks[s]["seconds"] for s in chain["seconds"] if s in marks}
    sub_path = run_dir/"submission/metrics.json"; sub = json.loads(sub_path.read_text())
    embed = marks.get("02_embed", {}).get("params", {})
    return {"run_dir": str(run_dir), "data_dir_abs": chain.get("data_dir"), "commit": chain.get("commit") or f"{_git_commit(run_dir)} (checkout when collected)",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(sub_path.stat().st_mtime)),
            "profile": chain.get("profile"), "tuned": chain.get("tuned", []), "seed": chain.get("seed"), "device": chain.get("device_asked", chain.get("device")),
            "data_dir": chain.get("data_dir"),
            "image_encoder": embed.get("image_encoder"), "seconds": seconds,
            "peak_mb": {s: marks[s]["peak_mb"] for s in seconds if s in marks}, "oof": sub["models"], "test": sub.get("test_smape", {}),
            "weights": sub.get("weights", {}), "sub": sub, "n_train": sub["n_train"], "n_test": sub["n_test"]}

def rerun_command(r:dict) -> str:
    "The ./run_all.sh line that makes this run again (from its chain.json; the data folder relative to this checkout)."
    data = r.get("data_dir") or ""
    inside = not data or Path(data).resolve() == Path(r["run_dir"])/"data"
    parts = ["./run_all.sh"] + ([] if inside else ["--data", os.path.relpath(Path(data).resolve(), ROOT)])
    if r.get("profile") != "default": parts += ["--profile", str(r["profile"])]
    if Path(r["run_dir"]).name != r.get("profile"): parts += ["--run", Path(r["run_dir"]).name]
    if r.get("tuned"): parts += ["--tuned", ",".join(r["tuned"])]
    if r.get("device") not in (None, "auto"): parts += ["--device", str(r["device"])]
    if r.get("seed") not in (None, 42): parts += ["--seed", str(r["seed"])]
    return " ".join(parts)

def ranking(scores:dict, names:list) -> dict:
    "Rank (1 = best, lowest SMAPE) of each named model."
    order = sorted(names, key=lambda n: scores[n]); return {n: order.index(n) + 1 for n in names}

def best_peer(r:dict) -> str|None:
    "The in-chain peer with the lowest test SMAPE (lowest OOF where the test rows have no truth)."
    peers = [p for p in PEERS if p in r["oof"]]
    if not peers: return None
    return min(peers, key=lambda p: (r["test"].get(p, math.inf), r["oof"][p])) if any(p in r["test"] for p in peers) else min(peers, key=r["oof"].get)

def fmt(x, bold=False) -> str:
    if x is None: return "n/a"
    return f"**{x:.2f}**" if bold else f"{x:.2f}"

def model_rows(r:dict) -> list:
    s = r["sub"]; bp = best_peer(r); bp_test = r["test"].get(bp) if bp else None; iv = s.get("intervals") or {}
    ci = lambda part, n: f"{iv[part]['scores'][n]['lo']:.2f}-{iv[part]['scores'][n]['hi']:.2f}" if n in iv.get(part, {}).get("scores", {}) else ""
    rows = ["| model | OOF SMAPE | test SMAPE | blend weight | OOF 95% | test 95% |", "|---|---:|---:|---:|---:|---:|"]
    for n in sorted(r["oof"], key=r["oof"].get):
        tag = f" (peer: {PEERS[n]})" if n in PEERS else ""
        rows.append(f"| {n}{tag} | {fmt(r['oof'][n])} | {fmt(r['test'].get(n))} | {r['weights'].get(n, 0):.3f} | {ci('oof', n)} | {ci('test', n)} |")
    cal = s.get("calibration") or {}
    rows.append(f"| blend ({s['mode']}, nested) | {fmt(s['blend_oof_smape_uncalibrated'])} | {fmt(s.get('blend_test_smape_uncalibrated'))} | |")
    if cal: rows.append(f"| blend + log shift {cal['shift']:+.3f} ({'applied' if cal['applied'] else 'not applied'}) | "
                        f"{fmt(cal['oof_smape_after'])} | {fmt(s.get('blend_test_smape_calibrated'))} | |")
    rows.append(f"| **submission (final blend)** | {fmt(s['blend_oof_smape'], True)} | {fmt(s.get('blend_test_smape'), True)} | | {ci('oof', 'blend')} | {ci('test', 'blend')} |")
    for part, b in iv.items():
        if b.get("diffs"): rows += ["", f"Paired 95% intervals on the {part} rows ({b['n_boot']} row resamples, seed {b['seed']}): " +
                                    "; ".join(f"{k} {d['value']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]" for k, d in b["diffs"].items()) + "."]
    if bp_test and s.get("blend_test_smape"): rows += ["", f"Blend / best peer on test: {s['blend_test_smape']:.2f} / {bp_test:.2f} = "
                                                        f"**{s['blend_test_smape'] / bp_test:.3f}**."]
    return rows

def stage_rows(runs:dict) -> list:
    names = list(runs); stages = list(dict.fromkeys(s for r in runs.values() for s in r["seconds"]))
    rows = ["| stage | " + " | ".join(f"{n} s | {n} peak MB" for n in names) + " |", "|---|" + "---:|---:|" * len(names)]
    for st in stages:
        rows.append(f"| {st} | " + " | ".join(f"{r['seconds'].get(st, float('nan')):,.1f} | {r['peak_mb'].get(st, float('nan')):,.0f}" for r in runs.values()) + " |")
    rows.append("| **total** | " + " | ".join(f"**{sum(r['seconds'].values()):,.1f}** ({sum(r['seconds'].values()) / 60:.1f} min) | " for r in runs.values()) + " |")
    return rows

def all_oof(r:dict) -> dict: "Every model's OOF SMAPE and the blend's."; return r["oof"] | {"blend": r["sub"]["blend_oof_smape"]}

def twin_words(t:dict) -> str:
    "What the twin run was, in words."
    img = "image block off" if not t.get("image_encoder") else f"image encoder {t['image_encoder']}"
    return f"{t['n_train']:,} + {t['n_test']:,} synthetic rows, profile `{t['profile']}`, {img}"

def write_real(runs:dict, twin:dict|None, cmdline:str, path:Path):
    old = path.read_text() if path.exists() else ""
    notes = old.split("\n## Notes", 1)[1] if "\n## Notes" in old else None
    first = next(iter(runs.values()))
    L = ["# Real-data scoreboard", "", f"Produced by: `{cmdline}` (machine-readable: `{path.with_name('real.json').name}`)  ",
         f"Machine: {machine()}  ",
         f"Runs: " + "; ".join(f"{n} {r['date']}, commit {r['commit']}" for n, r in runs.items()) +
         (f"; twin {twin['date']}, commit {twin['commit']}" if twin else "") + "  ",
         f"Profile: `{first['profile']}` (configs/{first['profile']}/). OOF = 5-fold out-of-fold SMAPE on the train rows; test = SMAPE of the test predictions "
         "against `test_truth.csv`. Lower is better. Small data (5.6k rows) puts absolute SMAPE ~10 points above leaderboard numbers: "
         "compare models with each other.", ""]
    for name, r in runs.items():
        L += [f"## {name}: {r['n_train']:,} train + {r['n_test']:,} test rows", ""] + model_rows(r) + [""]
    L += ["## Seconds and peak memory per stage", ""] + stage_rows(runs | ({"twin": twin} if twin else {})) + [""]
    if twin:
        name = next(iter(runs)); real_all, twin_all = all_oof(runs[name]), all_oof(twin)
        ra = ranking_agreement(twin_all, real_all); tau, common = ra["tau"], ra["models"]; rt, rr = ranking(twin_all, common), ranking(real_all, common)
        L += [f"## Twin vs real: do they rank the models alike? ({name})", "",
              f"The twin: {twin_words(twin)}" + (" (the real runs are text-only)." if not twin.get("image_encoder") else
                                                  "; the real runs are text-only (images unreachable offline), so only the twin's models see images."), "",
              "| model | twin OOF | twin rank | real OOF | real rank |", "|---|---:|---:|---:|---:|"]
        for n in sorted(common, key=rr.get): L.append(f"| {n} | {twin_all[n]:.2f} | {rt[n]} | {real_all[n]:.2f} | {rr[n]} |")
        g_t, g_r = ra["gap_a"], ra["gap_b"]  # TF-IDF peer minus towers, NaN where either is missing
        L += ["", f"Kendall's tau (twin vs real OOF ranking, {len(common)} models incl. the blend): **{tau:.2f}**" +
              (f"; TF-IDF peer minus towers: twin {g_t:+.2f}, real {g_r:+.2f}." if not math.isnan(g_t + g_r) else "."), ""]
    if notes is not None: L.append("## Notes" + notes.rstrip("\n"))
    with atomic_path(path) as t: t.write_text("\n".join(L) + "\n")
    print(f"wrote {path}", flush=True)

def _run_record(r:dict) -> dict:
    "One run in real.json: where it came from, every model's OOF / test SMAPE and blend weight, the blend, time and memory."
    s = r["sub"]; bp = best_peer(r); cal = s.get("calibration") or {}
    iv = s.get("intervals") or {}; ci = lambda part, n: [iv[part]["scores"][n]["lo"], iv[part]["scores"][n]["hi"]] if n in iv.get(part, {}).get("scores", {}) else None
    models = {n: {"oof": r["oof"][n], "test": r["test"].get(n), "weight": r["weights"].get(n, 0.0), "oof_ci95": ci("oof", n), "test_ci95": ci("test", n)}
              for n in sorted(r["oof"], key=r["oof"].get)}
    blend = {"oof": s["blend_oof_smape"], "test": s.get("blend_test_smape"), "mode": s.get("mode"),
             "oof_uncalibrated": s.get("blend_oof_smape_uncalibrated"), "test_uncalibrated": s.get("blend_test_smape_uncalibrated"),
             "calibration": {k: cal[k] for k in ("shift", "applied", "oof_smape_after") if k in cal} or None,
             "oof_ci95": ci("oof", "blend"), "test_ci95": ci("test", "blend"),
             "minus_best_ci95": {part: b["diffs"] for part, b in iv.items()} or None, "bootstrap": {k: v for k, v in (iv.get("oof") or {}).items() if k in ("n_boot", "seed", "level")} or None}
    ratio = blend["test"] / r["test"][bp] if bp and blend["test"] is not None and r["test"].get(bp) else None
    return {"run_dir": os.path.relpath(r["run_dir"], ROOT)} | {k: r[k] for k in ("commit", "date", "profile", "tuned", "seed", "device", "image_encoder", "n_train", "n_test")} | {
        "rerun": rerun_command(r),
        "models": models, "best_single": min(models, key=lambda n: (models[n]["oof"], n)), "peers": {p: PEERS[p] for p in PEERS if p in models},
        "best_peer": bp, "blend": blend, "blend_over_best_peer_test": ratio, "oracle": s.get("oracle_smape"),
        "seconds": r["seconds"], "chain_seconds": round(sum(r["seconds"].values()), 1),
        "peak_mb": r["peak_mb"], "peak_mb_max": max(r["peak_mb"].values(), default=None)}

def scoreboard_json(runs:dict, twin:dict|None, cmdline:str) -> dict:
    "Everything the README and 00c_synth read: the real runs (first = the dev set they quote), the twin, their agreement."
    out = {"schema": SCHEMA, "command": cmdline, "collected": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": {"description": machine(), "cores": os.cpu_count()},
           "dev": next(iter(runs)), "real": {n: _run_record(r) for n, r in runs.items()}, "twin": None, "agreement": None}
    if twin:
        out["twin"] = _run_record(twin) | {"description": twin_words(twin)}
        ra = ranking_agreement(all_oof(twin), all_oof(next(iter(runs.values()))))
        out["agreement"] = {"real": out["dev"], "tau": ra["tau"], "n_models": ra["n_models"], "models": ra["models"],
                            "peer_minus_towers_twin": None if math.isnan(ra["gap_a"]) else ra["gap_a"],
                            "peer_minus_towers_real": None if math.isnan(ra["gap_b"]) else ra["gap_b"]}
    return out

def write_json(obj:dict, path:Path):
    "real.json, atomically (a reader never sees half a file)."
    with atomic_path(path) as t: t.write_text(json.dumps(obj, indent=1) + "\n")
    print(f"wrote {path}", flush=True)

ABS_PATH = re.compile(r"(?<![\w.~:/-])/(?:work|tmp|home|root|Users|mnt|var|opt|srv|private|scratch)/[^\s\"'\\<>)&;,`]*")  # what a published file must not hold

def source_literals(root:Path=ROOT) -> set[str]:
    "Absolute-looking paths typed in the notebooks' own code (their tests' toy paths, e.g. /tmp/r): code, not a machine's paths."
    return {m for nb in (Path(root)/"nbs").glob("*.ipynb") for m in ABS_PATH.findall(nb.read_text())}

def machine_paths(text:str, allowed:set) -> list[str]:
    "The absolute paths of a machine in a text (paths the repository's own code types are allowed)."
    return [m for m in ABS_PATH.findall(text) if m not in allowed]

def relative_arg(a:str) -> str:
    "A command-line argument as recorded: an absolute path made relative to this checkout."
    return os.path.relpath(a, ROOT) if os.path.isabs(a) else a

def publish(r:dict, dest:Path) -> Path:
    "A run's executed notebooks and its report into dest/ (replaced whole), the machine's absolute paths made relative."
    run_dir = Path(r["run_dir"]); subs = {str(run_dir): f"outputs/{run_dir.name}", str(run_dir.parent): "outputs", str(ROOT): "."}
    if r.get("data_dir_abs"): subs[str(Path(r["data_dir_abs"]))] = os.path.relpath(r["data_dir_abs"], ROOT)
    subs[str(ROOT.parent)] = ".."
    if not (run_dir/"report/index.html").exists(): raise SystemExit(f"{run_dir}/report/index.html is missing: run stage 06b_report for this run first")
    tmp, allowed = dest.with_name(f".{dest.name}.tmp"), source_literals(); shutil.rmtree(tmp, ignore_errors=True)
    files = [(f, Path("nbs")/f.name) for f in sorted((run_dir/"nbs").glob("*.ipynb"))] + \
            [(f, Path("report")/f.relative_to(run_dir/"report")) for f in sorted((run_dir/"report").rglob("*")) if f.is_file()]
    for src, rel in files:
        out = tmp/rel; out.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix in (".ipynb", ".html", ".json", ".csv", ".md"):
            text = src.read_text(encoding="utf-8")
            for a, b in sorted(subs.items(), key=lambda kv: -len(kv[0])): text = text.replace(a, b)
            left = machine_paths(text, allowed)
            if left: raise SystemExit(f"{src}: still holds absolute path(s) after making paths relative: {sorted(set(left))[:5]}")
            out.write_text(text, encoding="utf-8")
        else: shutil.copyfile(src, out)
    shutil.rmtree(dest, ignore_errors=True); tmp.rename(dest)
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(f"published {os.path.relpath(run_dir, ROOT)} -> {os.path.relpath(dest, ROOT)}: {len(files)} files, {size / 2**20:.1f} MiB", flush=True)
    return dest

def screenshot(page:Path, png:Path) -> Path|None:
    "The first screen (1280 x 900) of a page, by headless Chromium; None where Chromium is not installed."
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium: print("(no chromium: no screenshot)"); return None
    import tempfile
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", f"--user-data-dir={prof}", "--hide-scrollbars", "--window-size=1280,900",
                        f"--screenshot={png.resolve()}", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {os.path.relpath(png, ROOT)}", flush=True); return png

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", help="real data folders (train.csv, test.csv, optional test_truth.csv)")
    ap.add_argument("--profile", default="real"); ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-twin", action="store_true", help="skip the twin run and the ranking comparison")
    ap.add_argument("--force", action="store_true", help="rerun every stage"); ap.add_argument("--out", default=str(ROOT/"bench/REAL.md"))
    ap.add_argument("--collect-only", action="store_true", help="run nothing: read existing run folders (outputs/real_*, or --real-run / --twin-run)")
    ap.add_argument("--real-run", action="append", default=[], metavar="DIR", help="with --collect-only: the run folder of each data folder, in order")
    ap.add_argument("--twin-run", metavar="DIR", help="with --collect-only: the twin's run folder (default outputs/real_twin_<profile>)")
    ap.add_argument("--no-readme", action="store_true", help="do not regenerate README.md from nbs/index.ipynb afterwards")
    ap.add_argument("--publish", metavar="DIR", help="also copy the first real run and the twin run (notebooks with outputs, report) into DIR/real_dev and DIR/twin")
    a, extra = ap.parse_known_args()
    if (a.real_run or a.twin_run) and not a.collect_only: ap.error("--real-run / --twin-run name existing runs: use them with --collect-only")
    if a.real_run and len(a.real_run) != len(a.data): ap.error(f"{len(a.data)} data folder(s) but {len(a.real_run)} --real-run folder(s)")
    cmdline = "python bench/real_scoreboard.py " + " ".join(map(relative_arg, sys.argv[1:]))
    runs = {}
    for i, d in enumerate(a.data):
        run = f"real_{Path(d).resolve().name}"
        run_dir = Path(a.real_run[i]) if a.real_run else ROOT/"outputs"/run
        runs[Path(d).resolve().name] = collect(run_dir if a.collect_only else spam_run(run, str(Path(d).resolve()), a.profile, a.seed, extra, a.force))
        write_real(runs, None, cmdline, Path(a.out))
    twin = None
    if not a.no_twin:
        run = f"real_twin_{a.profile}"
        twin = collect(Path(a.twin_run or ROOT/"outputs"/run) if a.collect_only else
                       spam_run(run, None, a.profile, a.seed, ["--set", "02_embed.image_encoder=", *extra], a.force))
    write_real(runs, twin, cmdline, Path(a.out))
    write_json(scoreboard_json(runs, twin, cmdline), Path(a.out).with_name("real.json"))
    if a.publish:
        pub = Path(a.publish); dev = publish(next(iter(runs.values())), pub/"real_dev")
        if twin: publish(twin, pub/"twin")
        screenshot(dev/"report/index.html", pub/"real_dev_report_first_screen.png")
    if not a.no_readme: subprocess.run([sys.executable, str(ROOT/"scripts/make_readme.py")], check=True, cwd=ROOT)
