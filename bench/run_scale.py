#!/usr/bin/env python
"""Full-scale benchmark of the whole chain on the synthetic twin; regenerates bench/RESULTS.md.

    .venv/bin/python bench/run_scale.py                      # 5k / 20k / 75k (train = test rows), profile full,
                                                             # plus 02_embed before/after at 20k
    .venv/bin/python bench/run_scale.py --sizes 5000 --profile default --embed-before ""

Each size runs `spam_run` in a fresh run folder (outputs/bench_<profile>_<size>/), then this script reads the run's
chain.json (seconds and peak memory per stage), every model's metrics.json, the blend's, and the oracle floor.
RESULTS.md is rewritten after every size, so a cut-off run still leaves the finished points.

`--embed-before SIZE:KEY=VALUE,...` also runs 01_preprocess + 02_embed at SIZE with the listed 02_embed parameters
(the configuration before the speed-up; its own embedding cache, so nothing is reused) and reports it against the
main run at the same size: the profile of the slowest stage, before and after.
A "## Notes" section already in RESULTS.md (written by hand) is kept when the file is regenerated.
Runs on demand, never in CI.
"""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]

def machine() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"

def spam_run(run:str, profile:str, seed:int, n:int, extra:list) -> Path:
    "One `spam_run` of the twin at n + n rows into outputs/<run>/; returns the run folder."
    cmd = [str(ROOT/".venv/bin/spam_run"), "--profile", profile, "--run", run, "--seed", str(seed),
           "--set", f"twin.n_train={n}", "--set", f"twin.n_test={n}",
           "--set", f"02_embed.cache_dir={ROOT/'outputs'/run/'embedding_cache'}", *extra]  # a cold cache of its own: no size reuses another's vectors
    print("$", " ".join(cmd), flush=True); t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "SPAM_LLMS_ROOT": str(ROOT)})
    print(f"{run}: {time.time() - t0:.0f}s", flush=True)
    return ROOT/"outputs"/run

def smape(a, p): a, p = np.asarray(a, float), np.asarray(p, float); return float(np.mean(np.abs(p - a) / ((np.abs(a) + np.abs(p)) / 2)) * 100)

def collect(run_dir:Path) -> dict:
    chain = json.loads((run_dir/"chain.json").read_text())
    models = {}
    for m in sorted(run_dir.glob("*/metrics.json")):
        d = json.loads(m.read_text())
        if "oof_smape" in d: models[m.parent.name] = d["oof_smape"]
    sub = json.loads((run_dir/"submission/metrics.json").read_text()) if (run_dir/"submission/metrics.json").exists() else {}
    tr = pd.read_csv(run_dir/"data/train.csv", usecols=["sample_id", "price"]).merge(pd.read_csv(run_dir/"data/oracle.csv"), on="sample_id")
    emb = run_dir/"embeddings/metrics.json"
    knn = {m: json.loads((run_dir/m/"metrics.json").read_text()).get("knn_seconds", {}) for m in ("lgbm", "sparse_mlp") if (run_dir/m/"metrics.json").exists()}
    if (run_dir/"knn_tfidf/metrics.json").exists(): knn["knn_tfidf"] = {"tfidf": json.loads((run_dir/"knn_tfidf/metrics.json").read_text())["seconds"]}
    return {"seconds": chain["seconds"], "peak_mb": chain.get("peak_mb", {}), "models": models, "blend": sub.get("blend_oof_smape"),
            "oracle": smape(tr.price, np.expm1(tr.oracle_log_price)), "embed": json.loads(emb.read_text()) if emb.exists() else None,
            "embed_params": embed_params(run_dir), "knn_seconds": knn}

def exponent(sizes, seconds) -> float:
    "b in seconds ∝ n^b, least squares on logs (NaN with fewer than two sizes)."
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(seconds, float))
    ok = np.isfinite(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else float("nan")

def embed_params(run_dir:Path) -> dict:
    "The recipe of the run's text block (precision, tokens, batch) from its embeddings manifest."
    try:
        man = json.loads((run_dir/"embeddings/manifest.json").read_text()); rec = man["blocks"]["text"]["recipe"]
        return {"precision": rec.get("precision"), "max_tokens": rec.get("max_tokens"), "batch_size": man["report"]["text"]["train"].get("batch_size"),
                "image_size": man["blocks"].get("image", {}).get("recipe", {}).get("image_size")}
    except Exception: return {}

def embed_rows(label:str, r:dict) -> list:
    "Table rows: one per encoder block of a run's 02_embed metrics."
    out = []
    for b, m in (r["embed"] or {}).get("blocks", {}).items():
        model_share = 100 * m["model_ms_per_sample"] / max(m["ms_per_sample"], 1e-9)
        out.append(f"| {label} | {b} | {m['backend']} | {m['rows']:,} | {m['rows_per_s']:,.1f} | {m['ms_per_sample']:.2f} | {model_share:.0f}% |")
    return out

def write_results(res:dict, profile:str, cmdline:str, path:Path, before:tuple|None=None):
    sizes = sorted(res); big = res[sizes[-1]]
    old = path.read_text() if path.exists() else ""
    notes = old.split("\n## Notes", 1)[1] if "\n## Notes" in old else None
    L = [f"# Benchmark results", "", f"Produced by: `{cmdline}`  ", f"Machine: {machine()}  ", f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
         f"Profile: `{profile}` (configs/{profile}/), synthetic twin with train = test rows, {big['embed_params'].get('image_size')} px images, "
         f"text at {big['embed_params'].get('max_tokens')} tokens, default offline encoders.", ""]
    L += [f"## Wall time and peak memory per stage ({sizes[-1]:,} + {sizes[-1]:,} rows)", "", "| stage | seconds | peak MB |", "|---|---:|---:|"]
    for s, t in big["seconds"].items(): L.append(f"| {s} | {t:,.1f} | {big['peak_mb'].get(s, float('nan')):,.0f} |")
    L += [f"| **total** | **{sum(big['seconds'].values()):,.1f}** ({sum(big['seconds'].values()) / 60:.1f} min) | |", ""]
    L += ["## OOF SMAPE (train rows, 5-fold)", "", "| model | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    names = sorted({m for r in res.values() for m in r["models"]})
    for m in names: L.append(f"| {m} | " + " | ".join(f"{res[n]['models'].get(m, float('nan')):.2f}" for n in sizes) + " |")
    L.append("| **blend** | " + " | ".join(f"**{res[n]['blend']:.2f}**" if res[n]['blend'] else "n/a" for n in sizes) + " |")
    L.append("| oracle floor | " + " | ".join(f"{res[n]['oracle']:.2f}" for n in sizes) + " |")
    L.append("| blend / oracle | " + " | ".join(f"{res[n]['blend'] / res[n]['oracle']:.3f}" if res[n]['blend'] else "n/a" for n in sizes) + " |")
    L += ["", "## Scaling (seconds per stage)", "", "Exponent b of seconds ∝ n^b: least squares over all sizes, and between the last two (1 = linear).", "",
          "| stage | " + " | ".join(f"{n:,}" for n in sizes) + " | b (all sizes) | b (last two) |", "|---|" + "---:|" * (len(sizes) + 2)]
    for s in big["seconds"]:
        v = [res[n]["seconds"].get(s, float("nan")) for n in sizes]
        L.append(f"| {s} | " + " | ".join(f"{x:,.1f}" for x in v) + f" | {exponent(sizes, v):.2f} | {exponent(sizes[-2:], v[-2:]):.2f} |")
    L += ["", "## Neighbour searches (seconds, train out-of-fold + test, per space)", "",
          "lgbm / sparse_mlp: the stage's searches per space (embeddings = FAISS over every embedding space; tfidf, name =",
          "the sparse TF-IDF spaces); knn_tfidf: that model's whole run (its search dominates).", "",
          "| model | space | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|---|" + "---:|" * len(sizes)]
    for m, sp_ in sorted({(m, s_) for r in res.values() for m, d in r.get("knn_seconds", {}).items() for s_ in d}):
        L.append(f"| {m} | {sp_} | " + " | ".join(f"{res[n].get('knn_seconds', {}).get(m, {}).get(sp_, float('nan')):,.1f}" for n in sizes) + " |")
    sparse = [sum(d.get(s_, 0) for d in res[n].get("knn_seconds", {}).values() for s_ in ("tfidf", "name")) for n in sizes]
    L.append("| **all TF-IDF searches** | tfidf + name | " + " | ".join(f"**{x:,.1f}**" for x in sparse) + " |")
    L += ["", "## 02_embed by encoder (profile of the slowest stage)", "",
          "ms/sample = wall time per row through the project's code; model share = the part of it spent in the model's forward pass",
          "(the rest: reading, decoding, tokenising, writing chunks).", "",
          "| run | block | backend | rows | rows/s | ms/sample | model share |", "|---|---|---|---:|---:|---:|---:|"]
    for n in sizes: L += embed_rows(f"{n:,} + {n:,}", res[n])
    if before is not None:
        n, b = before; a = res.get(n)
        L += ["", f"## 02_embed before / after the speed-up ({n:,} + {n:,} rows, same twin, fresh caches)", "",
              "| | text precision | max_tokens | text batch | 02_embed seconds | text rows/s | image rows/s |", "|---|---|---:|---:|---:|---:|---:|"]
        for label, r in (("before", b), ("after", a)):
            if r is None: continue
            blk = (r["embed"] or {}).get("blocks", {}); p = r["embed_params"]
            L.append(f"| {label} | {p.get('precision')} | {p.get('max_tokens')} | {p.get('batch_size') or 'auto'} | {r['seconds'].get('02_embed', float('nan')):,.1f} | "
                     f"{blk.get('text', {}).get('rows_per_s', float('nan')):,.1f} | {blk.get('image', {}).get('rows_per_s', float('nan')):,.1f} |")
        if a is not None: L.append(f"| speed-up | | | | {b['seconds']['02_embed'] / a['seconds']['02_embed']:.2f}x | | |")
    L.append("")
    if notes is not None: L.append("## Notes" + notes.rstrip("\n"))
    path.parent.mkdir(parents=True, exist_ok=True); path.write_text("\n".join(L) + "\n"); print(f"wrote {path}", flush=True)

def parse_before(spec:str) -> tuple[int, list]:
    "'20000:precision=fp32,max_tokens=128' -> (20000, ['--set', '02_embed.precision=fp32', ...])."
    n, kv = spec.split(":", 1)
    return int(n), [a for it in kv.split(",") if it for a in ("--set", f"02_embed.{it}")]

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5000,20000,75000", help="rows of train (= test); run in the order given")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--seed", type=int, default=42); ap.add_argument("--out", default=str(ROOT/"bench/RESULTS.md"))
    ap.add_argument("--embed-before", default="20000:precision=fp32,max_tokens=128,batch_size=64",
                    help="SIZE:KEY=VALUE,... 02_embed parameters before the speed-up ('' = skip)")
    ap.add_argument("--collect-only", action="store_true", help="rebuild RESULTS.md from existing outputs/bench_* runs")
    a, extra = ap.parse_known_args()
    cmdline = "python bench/run_scale.py " + " ".join(sys.argv[1:])
    run_name = lambda n: f"bench_{a.profile}_{n}"
    res, before = {}, None
    for n in [int(s) for s in a.sizes.split(",")]:
        res[n] = collect(ROOT/"outputs"/run_name(n) if a.collect_only else spam_run(run_name(n), a.profile, a.seed, n, extra))
        write_results(res, a.profile, cmdline, Path(a.out))
    if a.embed_before:
        n, sets = parse_before(a.embed_before); run = run_name(n) + "_before"
        if not a.collect_only:
            sets += ["--set", f"02_embed.cache_dir={ROOT/'outputs'/run/'embedding_cache'}", "--stages", "01_preprocess,02_embed"]
            spam_run(run, a.profile, a.seed, n, sets + extra)
        before = (n, collect(ROOT/"outputs"/run))  # no models or submission in this run: only seconds and embed are read
        write_results(res, a.profile, cmdline, Path(a.out), before)
