#!/usr/bin/env python
"""Full-scale benchmark of the whole chain on the synthetic twin; regenerates bench/RESULTS.md.

    .venv/bin/python bench/run_scale.py                      # 5k / 20k / 75k (train = test rows), profile full
    .venv/bin/python bench/run_scale.py --sizes 5000 --profile default

Each size runs `spam_run` in a fresh run folder (outputs/bench_<size>/), then this script reads the run's chain.json
(seconds and peak memory per stage), every model's metrics.json, the blend's, and the oracle floor.
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

def run_size(n:int, profile:str, seed:int, extra:list) -> Path:
    run = f"bench_{profile}_{n}"
    cmd = [str(ROOT/".venv/bin/spam_run"), "--profile", profile, "--run", run, "--seed", str(seed),
           "--set", f"twin.n_train={n}", "--set", f"twin.n_test={n}", *extra]
    print("$", " ".join(cmd), flush=True); t0 = time.time()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "SPAM_LLMS_ROOT": str(ROOT)})
    print(f"size {n}: {time.time() - t0:.0f}s", flush=True)
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
    return {"seconds": chain["seconds"], "peak_mb": chain.get("peak_mb", {}), "models": models, "blend": sub.get("blend_oof_smape"),
            "oracle": smape(tr.price, np.expm1(tr.oracle_log_price))}

def write_results(res:dict, profile:str, cmdline:str, path:Path):
    sizes = sorted(res); big = res[sizes[-1]]
    L = [f"# Benchmark results", "", f"Produced by: `{cmdline}`  ", f"Machine: {machine()}  ", f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
         f"Profile: `{profile}` (configs/{profile}/), synthetic twin with train = test rows, 224 px images, default offline encoders.", ""]
    L += [f"## Wall time and peak memory per stage ({sizes[-1]:,} + {sizes[-1]:,} rows)", "", "| stage | seconds | peak MB |", "|---|---:|---:|"]
    for s, t in big["seconds"].items(): L.append(f"| {s} | {t:,.1f} | {big['peak_mb'].get(s, float('nan')):,.0f} |")
    L += [f"| **total** | **{sum(big['seconds'].values()):,.1f}** | |", ""]
    L += ["## OOF SMAPE (train rows, 5-fold)", "", "| model | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    names = sorted({m for r in res.values() for m in r["models"]})
    for m in names: L.append(f"| {m} | " + " | ".join(f"{res[n]['models'].get(m, float('nan')):.2f}" for n in sizes) + " |")
    L.append("| **blend** | " + " | ".join(f"**{res[n]['blend']:.2f}**" if res[n]['blend'] else "n/a" for n in sizes) + " |")
    L.append("| oracle floor | " + " | ".join(f"{res[n]['oracle']:.2f}" for n in sizes) + " |")
    L.append("| blend / oracle | " + " | ".join(f"{res[n]['blend'] / res[n]['oracle']:.3f}" if res[n]['blend'] else "n/a" for n in sizes) + " |")
    L += ["", "## Scaling (seconds per stage)", "", "| stage | " + " | ".join(f"{n:,}" for n in sizes) + " | ratio last/first ÷ size ratio |", "|---|" + "---:|" * (len(sizes) + 1)]
    for s in big["seconds"]:
        v = [res[n]["seconds"].get(s, float("nan")) for n in sizes]
        L.append(f"| {s} | " + " | ".join(f"{x:,.1f}" for x in v) + f" | {(v[-1] / max(v[0], 1e-9)) / (sizes[-1] / sizes[0]):.2f} |")
    path.write_text("\n".join(L) + "\n"); print(f"wrote {path}")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5000,20000,75000"); ap.add_argument("--profile", default="full")
    ap.add_argument("--seed", type=int, default=42); ap.add_argument("--out", default=str(ROOT/"bench/RESULTS.md"))
    ap.add_argument("--collect-only", action="store_true", help="rebuild RESULTS.md from existing outputs/bench_* runs")
    a, extra = ap.parse_known_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    res = {n: collect(ROOT/"outputs"/f"bench_{a.profile}_{n}" if a.collect_only else run_size(n, a.profile, a.seed, extra)) for n in sizes}
    write_results(res, a.profile, "python bench/run_scale.py " + " ".join(sys.argv[1:]), Path(a.out))
