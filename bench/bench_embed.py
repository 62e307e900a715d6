"""Rows/s of the offline encoders through the project's code (`embed_cache.embed_split`) against the bare model forward
pass on the same batches.

    .venv/bin/python bench/bench_embed.py [--rows 2000] [--threads 2] [--repeats 3] [--out bench/_work/embed.json]

"bare" = the encoder's forward on batches prepared beforehand (tokenised / decoded, in memory), in the same order and
batch size: the model cost alone. "project" = `embed_split` from texts / image files to the float16 array on disk:
sorting, background tokenising / decoding, chunked atomic writes, assembly. overhead = project time / bare time - 1.
Also shown, for reference: torch eager on the same batches (the path the ONNX Runtime export replaces on CPU).
Each figure is the best of --repeats runs (the machine may be shared: the load average is printed with the results).
Targets (2 CPU cores): overhead <= 15%, text >= 300 rows/s, images (224 px) >= 120 rows/s.
Text runs at the stage defaults (int8, 64 tokens); --text-precision fp32 --max-tokens 128 gives the former default.
"""
from __future__ import annotations
import argparse, json, os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(fn, repeats: int) -> tuple[float, float]:
    "Smallest wall time and smallest process CPU time of `repeats` calls."
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time(); fn(); wall.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def bench_encoder(enc, ids, items, repeats: int, workers: int, threads: int, eager=None) -> dict:
    "bare vs project (and optional torch-eager reference) rows/s for one encoder."
    from spam_llms.embed_cache import embed_split, sort_order
    order = sort_order(items, enc.modality)
    batches = [enc.prepare([items[i] for i in order[s:s + enc.batch_size]]) for s in range(0, len(items), enc.batch_size)]
    enc.forward(batches[0])  # warm-up (ORT allocations, lazy init)
    bare, bare_cpu = best_of(lambda: [enc.forward(b) for b in batches], repeats)
    scratch = Path(tempfile.mkdtemp(prefix="bench_embed_"))
    def project():
        shutil.rmtree(scratch/"entry", ignore_errors=True)
        embed_split(enc, ids, items, scratch/"entry", "train", workers=workers, progress=False)
    proj, proj_cpu = best_of(project, repeats)
    out = {"encoder": enc.name, "backend": enc.backend, "rows": len(items), "batch_size": enc.batch_size,
           "bare_rows_per_s": round(len(items) / bare, 1), "project_rows_per_s": round(len(items) / proj, 1),
           "overhead_pct": round(100 * (proj / bare - 1), 1), "project_ms_per_sample": round(1000 * proj / len(items), 3),
           # CPU-time view, robust to a shared machine: rows per second if the process had its `threads` cores to itself
           "bare_rows_per_cpu_s_x_threads": round(len(items) / bare_cpu * threads, 1), "project_rows_per_cpu_s_x_threads": round(len(items) / proj_cpu * threads, 1),
           "overhead_cpu_pct": round(100 * (proj_cpu / bare_cpu - 1), 1)}
    if eager is not None:  # torch eager on 4 batches spread over the length order (it is slow)
        few = [batches[i] for i in np.linspace(0, len(batches) - 1, min(len(batches), 4)).round().astype(int)]; n = sum(len(b[1]) if isinstance(b, tuple) else len(b["input_ids"]) for b in few)
        out["torch_eager_rows_per_s"] = round(n / best_of(lambda: [eager.forward(b) for b in few], 1)[0], 1)
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def versus_fp32(enc, ref, items, repeats: int) -> dict:
    "Bare rows/s of `enc` and of the fp32 `ref` on the same batches, and the cosine between their vectors."
    from spam_llms.embed_cache import sort_order
    order = sort_order(items, enc.modality)
    batches = [enc.prepare([items[i] for i in order[s:s + enc.batch_size]]) for s in range(0, len(items), enc.batch_size)]
    out = {}
    for name, e in (("this", enc), ("fp32", ref)):
        e.forward(batches[0]); out[name] = np.concatenate([e.forward(b) for b in batches])
        out[name + "_s"] = best_of(lambda: [e.forward(b) for b in batches], repeats)[0]
    a, b = out["this"], out["fp32"]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"bare_rows_per_s": round(len(items) / out["this_s"], 1), "fp32_bare_rows_per_s": round(len(items) / out["fp32_s"], 1),
            "speedup": round(out["fp32_s"] / out["this_s"], 2), "cosine_mean": round(float(cos.mean()), 4), "cosine_min": round(float(cos.min()), 4)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000, help="rows of the synthetic twin embedded per measurement")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads (the target is for 2 cores)")
    ap.add_argument("--workers", type=int, default=2, help="image decoding threads")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--text-precision", default="int8", help="int8 (the CPU default: ONNX Runtime, int8 MatMul weights), fp32 (ONNX Runtime) or bf16 (torch autocast)")
    ap.add_argument("--max-tokens", type=int, default=64, help="text truncation (the stage's max_tokens, 64 by default)")
    ap.add_argument("--skip-image", action="store_true")
    ap.add_argument("--work", default=str(ROOT/"bench"/"_work"/"embed"), help="twin, ONNX exports (kept between runs)")
    ap.add_argument("--out", default=str(ROOT/"bench"/"_work"/"embed.json"))
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    from spam_llms.embed import read_inputs, image_paths
    from spam_llms.encoders import get_encoder
    from spam_llms.preprocess import ensure_preprocessed
    work = Path(a.work); run = work/f"twin{a.rows}"
    ensure_preprocessed(run, "", a.rows, 100, 42)
    df = read_inputs(run, "train"); ids, texts = df.sample_id.to_numpy(np.int64), df.text.tolist()
    imgs = image_paths(df.image_link, run/"data", work/"images")
    load0 = os.getloadavg()
    text = bench_encoder(get_encoder("text", "minilm", "cpu", onnx_dir=work/"onnx", precision=a.text_precision, max_tokens=a.max_tokens)["text"], ids, texts,
                         a.repeats, a.workers, a.threads, eager=get_encoder("text", "minilm", "cpu", max_tokens=a.max_tokens)["text"])
    if a.text_precision != "fp32":  # the fp32 model on the same batches: speed-up and how far the vectors moved
        text["vs_fp32"] = versus_fp32(get_encoder("text", "minilm", "cpu", onnx_dir=work/"onnx", precision=a.text_precision, max_tokens=a.max_tokens)["text"],
                                      get_encoder("text", "minilm", "cpu", onnx_dir=work/"onnx", precision="fp32", max_tokens=a.max_tokens)["text"], texts, a.repeats)
    image = None if a.skip_image else bench_encoder(get_encoder("image", "efficientnet-lite0", "cpu", image_size=a.image_size, onnx_dir=work/"onnx")["image"],
                          ids, imgs, a.repeats, a.workers, a.threads, eager=get_encoder("image", "efficientnet-lite0", "cpu", image_size=a.image_size)["image"])
    res = {"threads": a.threads, "cores": os.cpu_count(), "loadavg_before": load0, "loadavg_after": os.getloadavg(),
           "mean_text_chars": round(float(np.mean([len(t) for t in texts])), 1), "image_size": a.image_size, "max_tokens": a.max_tokens,
           "text_precision": a.text_precision,
           "targets": {"overhead_pct_max": 15, "text_rows_per_s_min": 300, "image_rows_per_s_min": 120},
           "text": text, "image": image}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=2))
    print(f"{'encoder':<20}{'backend':<13}{'bare rows/s':>12}{'project rows/s':>16}{'overhead':>10}{'torch eager':>13}"
          f"{'| CPU-time view: bare':>22}{'project':>9}{'overhead':>10}")
    for r in (text, image) if image else (text,):
        print(f"{r['encoder']:<20}{r['backend']:<13}{r['bare_rows_per_s']:>12}{r['project_rows_per_s']:>16}{r['overhead_pct']:>9}%"
              f"{r.get('torch_eager_rows_per_s', float('nan')):>13}{r['bare_rows_per_cpu_s_x_threads']:>22}"
              f"{r['project_rows_per_cpu_s_x_threads']:>9}{r['overhead_cpu_pct']:>9}%")
    if "vs_fp32" in text:
        v = text["vs_fp32"]; print(f"text {a.text_precision} vs fp32 on the same batches: {v['bare_rows_per_s']} vs {v['fp32_bare_rows_per_s']} rows/s "
                                   f"(x{v['speedup']}), cosine mean {v['cosine_mean']}, min {v['cosine_min']}")
    print(f"threads {a.threads}, load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f}; results in {a.out}")
    return res


if __name__ == "__main__":
    main()
