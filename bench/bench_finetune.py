"""Speed of the fine-tune stage (spam_llms.finetune): lower-layer caching, training and inference rows/s.

    .venv/bin/python bench/bench_finetune.py [--data ../shared/realdata/amazon2025_dev] [--rows 512] [--max-len 48]
        [--n-train-layers 1] [--batch-size 32] [--threads 2] [--model minilm] [--out bench/_work/finetune.json]
    # CUDA (the gpu profile's recipe: every layer trained, 128 tokens, bf16 autocast):
    .venv/bin/python bench/bench_finetune.py --device cuda --n-train-layers -1 --max-len 128 --batch-size 64 --rows 4096

Texts are the first --rows training rows of --data (01's encoder text built on the fly), or synthetic-twin rows when
no --data is given. "cache" = one no-grad pass of the frozen lower layers (done once per run, shared by all folds);
"train" = forward + backward + AdamW step of the trained top layers and the head, per training row and epoch;
"infer" = prediction of the trained model from cached states. Wall rows/s and rows per CPU-second x threads (robust
to a shared machine: what the process would do with its threads to itself) are both printed, with the load average.
Estimate of a 5-fold stage on N training rows, E epochs and M test rows: cache (N+M)/cache + 5*(0.8*N*E/train +
(0.2*N+M)/infer) seconds.
"""
from __future__ import annotations
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def texts_from(data: str, rows: int) -> list[str]:
    "Encoder texts of the first `rows` training rows (01's `encoder_text` of the parsed catalog)."
    import pandas as pd
    from spam_llms.preprocess import parse_catalog, encoder_text
    if data: df = pd.read_csv(Path(data)/"train.csv", nrows=rows)
    else:
        from spam_llms.synth import ensure_twin
        import tempfile
        df = pd.read_csv(ensure_twin(Path(tempfile.mkdtemp())/"twin", rows, 10, 0)/"train.csv", nrows=rows)
    return [encoder_text(parse_catalog(t)) for t in df.catalog_content.fillna("")]


def timed(fn):
    "Wall and process-CPU seconds of one call."
    t, c = time.perf_counter(), time.process_time(); r = fn(); return r, time.perf_counter() - t, time.process_time() - c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="", help="challenge folder with train.csv (default: a synthetic twin)")
    ap.add_argument("--rows", type=int, default=512); ap.add_argument("--max-len", type=int, default=48)
    ap.add_argument("--n-train-layers", type=int, default=1); ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="minilm"); ap.add_argument("--device", default="cpu"); ap.add_argument("--out", default="")
    a = ap.parse_args()
    import torch
    from spam_llms import finetune as ft
    torch.set_num_threads(a.threads); dev = a.device
    texts = texts_from(a.data, a.rows); n = len(texts)
    tok, base = ft.load_encoder(a.model)
    enc, t_cache, c_cache = timed(lambda: ft.encoder_inputs(tok, base, texts, a.max_len, a.n_train_layers, None, a.model, 128, dev, False)[0])
    rng = np.random.default_rng(0); y = rng.normal(2.7, 0.9, n)
    data = {"x": enc["x"], "mask": enc["mask"], "num": torch.zeros(n, 4), "cat": torch.zeros(n, 1, dtype=torch.long)}
    torch.manual_seed(0)
    model = ft.FinetuneRegressor(ft.TopEncoder(base, a.n_train_layers), 4, [3], y_mean=2.7, y_std=0.9)
    p = ft.FinetuneParams.smoke(model_name=a.model, max_len=a.max_len, n_train_layers=a.n_train_layers, epochs=a.epochs, batch_size=a.batch_size,
                                device=dev)  # the stage's smoke settings otherwise (its optimiser and loss)
    _, t_train, c_train = timed(lambda: ft.train_model(model, data, y, p, device=dev))
    if dev.startswith("cuda"): torch.cuda.synchronize()
    _, t_inf, c_inf = timed(lambda: ft.predict(model, data, 256, dev))
    if dev.startswith("cuda"): torch.cuda.synchronize()
    th = a.threads if dev == "cpu" else 1
    res = {"device": dev, "threads": a.threads, "model": a.model, "rows": n, "max_len": a.max_len, "tokens_mean": float(enc["mask"].sum(1).float().mean()),
           "n_train_layers": a.n_train_layers, "batch_size": a.batch_size, "load_avg": os.getloadavg()[0],
           "cache_rows_per_s": round(n / t_cache, 1) if a.n_train_layers >= 0 else None,
           "train_rows_per_s": round(a.epochs * n / t_train, 1), "infer_rows_per_s": round(n / t_inf, 1),
           "cache_rows_per_cpu_s_x_threads": round(n / c_cache * th, 1) if a.n_train_layers >= 0 else None,
           "train_rows_per_cpu_s_x_threads": round(a.epochs * n / c_train * th, 1), "infer_rows_per_cpu_s_x_threads": round(n / c_inf * th, 1)}
    print(json.dumps(res, indent=1))
    if a.out: Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
