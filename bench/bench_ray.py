"""Embedding the real dev set's text on Ray Data actors against the plain in-process loop: wall time, rows/s, start-up.

    .venv/bin/python bench/bench_ray.py --run-dir outputs/<you>_dev --data-dir ../shared/realdata/amazon2025_dev \
        [--actors 1 2] [--cpus 0] [--repeats 1] [--out bench/_work/ray.json]

The run folder needs 01's preprocessed/ (copy outputs/devbase/preprocessed into it). Every measured run is a fresh
Python process that embeds both splits' text (stage defaults: MiniLM, int8, 64 tokens; no image block) with
`run_embed` into an empty cache, as a chain run does: the plain loop loads the encoder in that process, the Ray path
in its actors (one pool per block, both splits in one pass). The ONNX exports are made once beforehand and
hard-linked into each cache, so no run pays for an export. Measured:
- Ray start-up: `embed_ray.ray_start` (a local Ray over --cpus cores, 0 = all), timed apart, before the embedding;
- the embedding's wall time for the plain loop (`ray=False`) and for Ray with each --actors count (best of --repeats),
  rows/s, and the ratio to the plain loop without and with Ray's start-up;
- that the Ray vectors are the plain loop's, byte for byte (the int8 path runs row by row);
- where the fixed cost goes: the plain loop's encoder load, and when Ray's actors began building (their processes up)
  and when the last one had its encoder loaded, both counted from the moment the pool was asked for.
Target (issue 16): Ray <= 1.15x the plain loop's wall time, start-up reported beside it. Timings depend on the
machine's load; the load average is printed with the results, so rerun on an idle machine for numbers to quote.
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fresh_run(work: Path, name: str, src_run: Path) -> tuple[Path, Path]:
    "A run folder with src_run's preprocessed inputs and an empty cache seeded with the ONNX exports."
    run, cache = work/f"run_{name}", work/f"cache_{name}"
    for d in (run, cache): shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src_run/"preprocessed", run/"preprocessed")
    shutil.copytree(work/"onnx", cache/"onnx", copy_function=os.link)
    return run, cache


def one(work: Path, name: str, src_run: Path, data_dir: str, actors: int, cpus: int) -> dict:
    "In this (fresh) process: Ray's start-up when actors > 0, then one run_embed of both splits' text; seconds and manifest."
    from spam_llms import embed, embed_ray
    run, cache = fresh_run(work, name, src_run); start_s, kw = 0.0, {}
    if actors:
        t = time.perf_counter(); embed_ray.ray_start("", cpus); start_s = time.perf_counter() - t
        kw = dict(ray=True, ray_actors=actors, ray_cpus=cpus)
    t = time.perf_counter()
    p = embed.EmbedParams.smoke(run_dir=str(run), data_dir=data_dir, image_encoder="", cache_dir=str(cache), **kw)  # the stage's smoke values otherwise
    man = embed.run_embed(p, progress=False, log=lambda m: None)
    return {"wall_s": time.perf_counter() - t, "start_s": start_s, "manifest": str(man)}


def spawn(work: Path, name: str, src_run: Path, data_dir: str, actors: int, cpus: int) -> dict:
    "`one` in a child process (a cold start, like a chain stage); its result."
    out = work/f"{name}.json"
    cmd = [sys.executable, __file__, "--child", name, "--child-actors", str(actors), "--run-dir", str(src_run), "--data-dir", data_dir,
           "--cpus", str(cpus), "--work", str(work)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if actors else None)
    return json.loads(out.read_text())


def vectors(man_path: str) -> bytes:
    "The text block's float16 bytes, train then test."
    man = json.loads(Path(man_path).read_text())
    return b"".join(np.load(man["blocks"]["text"][s]).tobytes() for s in ("train", "test"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True, help="a run folder holding preprocessed/ (01's output)")
    ap.add_argument("--data-dir", default="", help="the data folder (only image links resolve there; text needs none)")
    ap.add_argument("--actors", type=int, nargs="+", default=[1, 2], help="Ray actor counts to time")
    ap.add_argument("--cpus", type=int, default=0, help="CPUs of the local Ray (0 = all cores)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per setting; the best is kept")
    ap.add_argument("--work", default=str(ROOT/"bench"/"_work"/"ray"), help="scratch runs, caches and ONNX exports")
    ap.add_argument("--out", default=str(ROOT/"bench"/"_work"/"ray.json"))
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--child-actors", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    work, src = Path(a.work), Path(a.run_dir).expanduser().resolve(); work.mkdir(parents=True, exist_ok=True)
    if a.child:
        r = one(work, a.child, src, a.data_dir, a.child_actors, a.cpus); (work/f"{a.child}.json").write_text(json.dumps(r)); return r
    from spam_llms.encoders import get_encoder
    get_encoder("text", "minilm", "cpu", onnx_dir=work/"onnx")["text"].load()  # exports made once, outside the timings
    load0 = os.getloadavg()
    best = lambda name, actors: min((spawn(work, f"{name}_{i}", src, a.data_dir, actors, a.cpus) for i in range(a.repeats)), key=lambda r: r["wall_s"])
    plain = best("plain", 0); plain_s = plain["wall_s"]
    rows = sum(len(np.load(json.loads(Path(plain["manifest"]).read_text())["ids"][s])) for s in ("train", "test"))
    plain_load = json.loads(Path(plain["manifest"]).read_text())["report"]["text"]["train"]["load_seconds"]
    res = {"rows": rows, "cores": os.cpu_count(), "loadavg_before": load0,
           "plain": {"wall_s": round(plain_s, 2), "rows_per_s": round(rows / plain_s, 1), "load_s": plain_load},
           "ray": {}, "target_ratio": 1.15}
    for n in a.actors:
        r = best(f"ray{n}", n); man = json.loads(Path(r["manifest"]).read_text())["report"]["text"]["train"]
        res["ray"][n] = {"wall_s": round(r["wall_s"], 2), "start_s": round(r["start_s"], 2), "rows_per_s": round(rows / r["wall_s"], 1),
                         "ratio": round(r["wall_s"] / plain_s, 3), "ratio_with_start": round((r["wall_s"] + r["start_s"]) / plain_s, 3),
                         "threads_per_actor": man["threads_per_actor"], "pool_seconds": man.get("pool_seconds"),
                         "actors_started_s": man.get("actors_started_s"), "actors_loaded_s": man.get("actors_loaded_s"),
                         "same_vectors": vectors(r["manifest"]) == vectors(plain["manifest"])}
    res["loadavg_after"] = os.getloadavg()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=2))
    print(f"{rows} rows of text (MiniLM int8, 64 tokens), {os.cpu_count()} cores; each run a fresh process (encoder load included)")
    print(f"{'engine':<24}{'wall s':>8}{'rows/s':>9}{'x plain':>9}{'Ray start s':>13}{'x plain, with start':>21}{'same vectors':>14}")
    print(f"{'plain loop':<24}{plain_s:>8.1f}{rows / plain_s:>9.1f}{1:>9.2f}{'':>13}{'':>21}{'':>14}")
    for n, r in res["ray"].items():
        name = f"Ray, {n} actor(s) x {r['threads_per_actor']} thr"
        print(f"{name:<24}{r['wall_s']:>8.1f}{r['rows_per_s']:>9.1f}{r['ratio']:>9.2f}{r['start_s']:>13.1f}"
              f"{r['ratio_with_start']:>21.2f}{str(r['same_vectors']):>14}")
    print(f"fixed costs: the plain loop has its encoder loaded after {plain_load:.1f} s; counted from the moment Ray's pool is asked for, "
          + "; ".join(f"with {n} actor(s) the first actor starts building at {r['actors_started_s']:.1f} s and the last is loaded at "
                      f"{r['actors_loaded_s']:.1f} s" for n, r in res["ray"].items()))
    print(f"target: Ray <= {res['target_ratio']}x the plain loop (start-up apart); load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f}; results in {a.out}")
    return res


if __name__ == "__main__":
    main()
