"""Embedding the real dev set's text on Ray Data actors against the plain in-process loop: wall time, rows/s, start-up.

    .venv/bin/python bench/bench_ray.py --run-dir outputs/<you>_dev --data-dir /work/shared/realdata/amazon2025_dev \
        [--actors 1 2] [--cpus 0] [--repeats 1] [--out bench/_work/ray.json]

The run folder needs 01's preprocessed/ (copy outputs/devbase/preprocessed into it). Every measured run embeds both
splits' text (stage defaults: MiniLM, int8, 64 tokens; no image block) with `run_embed` into a fresh cache, so nothing
comes from the cache; the ONNX exports are made once beforehand and hard-linked into each cache. Measured:
- Ray start-up: `embed.ray_start` (a local Ray over --cpus cores, 0 = all) in this process, once;
- the plain loop (`ray=False`) and Ray with each --actors count: wall s (best of --repeats), rows/s, and the ratio to
  the plain loop without and with the start-up (a chain run pays the start-up once, for all its blocks);
- that the Ray vectors are the plain loop's, byte for byte (the int8 path runs row by row).
Target: Ray, start-up included, <= 1.15x the plain loop's wall time. Timings depend on the machine's load; the load
average is printed with the results, so rerun on an idle machine for numbers to quote.
"""
from __future__ import annotations
import argparse, json, os, shutil, sys, time
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


def embed_text(work: Path, name: str, src_run: Path, data_dir: str, **kw) -> tuple[float, dict]:
    "Wall seconds of one run_embed of both splits' text into a fresh cache, and its manifest."
    from spam_llms.embed import run_embed
    run, cache = fresh_run(work, name, src_run)
    t = time.perf_counter()
    man = run_embed(run, data_dir, image_encoder="", cache_dir=str(cache), progress=False, log=lambda m: None, **kw)
    return time.perf_counter() - t, json.loads(Path(man).read_text())


def vectors(man: dict) -> bytes:
    "The text block's float16 bytes, train then test."
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
    a = ap.parse_args(argv)
    from spam_llms import embed
    work, src = Path(a.work), Path(a.run_dir).expanduser().resolve(); work.mkdir(parents=True, exist_ok=True)
    embed.get_encoder("text", "minilm", "cpu", onnx_dir=work/"onnx")["text"].load()  # exports made once, outside the timings
    load0 = os.getloadavg()
    best = lambda name, **kw: min((embed_text(work, name, src, a.data_dir, **kw) for _ in range(a.repeats)), key=lambda r: r[0])
    plain_s, plain_man = best("plain")
    rows = sum(len(np.load(plain_man["ids"][s])) for s in ("train", "test"))
    t = time.perf_counter(); resources = embed.ray_start("", a.cpus); start_s = time.perf_counter() - t
    res = {"rows": rows, "cores": os.cpu_count(), "ray_cpus": resources.get("CPU"), "loadavg_before": load0,
           "plain": {"wall_s": round(plain_s, 2), "rows_per_s": round(rows / plain_s, 1)}, "ray_start_s": round(start_s, 2), "ray": {}, "target_ratio": 1.15}
    for n in a.actors:
        s, man = best(f"ray{n}", ray=True, ray_actors=n, ray_cpus=a.cpus)
        res["ray"][n] = {"wall_s": round(s, 2), "rows_per_s": round(rows / s, 1), "ratio": round(s / plain_s, 3),
                         "ratio_with_start": round((s + start_s) / plain_s, 3), "threads_per_actor": man["report"]["text"]["train"]["threads_per_actor"],
                         "same_vectors": vectors(man) == vectors(plain_man)}
    res["loadavg_after"] = os.getloadavg()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=2))
    print(f"{rows} rows of text (MiniLM int8, 64 tokens), {os.cpu_count()} cores; Ray start-up {start_s:.1f} s")
    print(f"{'engine':<22}{'wall s':>8}{'rows/s':>9}{'x plain':>9}{'x plain, with start-up':>24}{'same vectors':>14}")
    print(f"{'plain loop':<22}{plain_s:>8.1f}{rows / plain_s:>9.1f}{1:>9.2f}{'':>24}{'':>14}")
    for n, r in res["ray"].items():
        name = f"Ray, {n} actor(s) x {r['threads_per_actor']} thr"
        print(f"{name:<22}{r['wall_s']:>8.1f}{r['rows_per_s']:>9.1f}{r['ratio']:>9.2f}"
              f"{r['ratio_with_start']:>24.2f}{str(r['same_vectors']):>14}")
    print(f"target: Ray with start-up <= {res['target_ratio']}x the plain loop; load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f}; results in {a.out}")
    return res


if __name__ == "__main__":
    main()
