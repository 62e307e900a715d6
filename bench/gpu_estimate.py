"""An estimate, not a measurement: minutes per stage of `--profile gpu` at 75k + 75k rows on a T4, a P100 and an H100.

    python bench/gpu_estimate.py                               # prints the table (markdown) bench/GPU.md shows
    python bench/gpu_estimate.py --out bench/gpu_estimate.json

Two kinds of input, kept apart below:
- MEASURED here on CPU: the `full` profile's stage seconds at 75k + 75k on 2 cores (bench/RESULTS.md), the work the
  gpu profile adds to each CPU stage (seeds, epochs, spaces; the factors name their source), MiniLM's parameter count,
  the dev set's token lengths, and the time to decode one stored image.
- PUBLISHED: each card's dense half-precision peak (NVIDIA datasheets: T4 65 TFLOPS fp16 tensor; P100 PCIe 18.7
  TFLOPS fp16, no tensor cores; H100 SXM 989 TFLOPS bf16 dense) and the reference design's 84 ms/sample for its three
  large encoders on a P100 (design slides, "Latency", a per-sample latency).
GPU compute time = FLOPs / (peak x UTIL); UTIL is an assumption (stated), not a measurement. CPU-side stages on the
notebook's 4 cores take the 2-core seconds x the gpu profile's extra work x CORE_SPEEDUP (an assumption).
bench/GPU.md's measured table (bench/gpu_check.py on a card) replaces these numbers where it exists.
"""
from __future__ import annotations
import argparse, json
from pathlib import Path

# --- measured on CPU (this repository) ---
FULL_2CORE_S = {"00_eda": 10.7, "01_preprocess": 20.9, "04_lgbm_baseline": 288.4, "04b_sparse_mlp": 381.9, "04c_peers": 202.3,
                "06_submission": 16.9}                      # bench/RESULTS.md, full at 75k + 75k, 2 cores
REFINE_2CORE_S = 250.0                                     # 05_knn_refine at 75k + 75k, 2 cores (configs/full/common.yaml)
LGBM_SEARCH_S, EXTRA_SPACES_S = 33.2 + 35.2 + 51.3, 261.0 - 33.2  # 04's searches in full; image + concat IVF spaces (configs/full/04)
LGBM_FACTOR = 2 * 3 * 1.8  # lgbm + lgbm_noknn, 3 seeds each, tuned rate 0.02 (dev set: 04 188 s -> 338 s, bench/REAL.md)
MLP_FACTOR = 3 * 8 / 5 * 1.5  # 3 seeds, 8 epochs instead of 5, batch 64 instead of 128 (1.5: assumed cost of twice the steps)
MINILM_NONEMB_PARAMS = 10_794_624  # all-MiniLM-L6-v2 without its embedding table (22,713,216 in all)
TOKENS = 128  # the dev set's texts at a 128-token cap: mean 99.8, 57% at the cap, so batches padded to their longest run ~128
DECODE_MS = 8.1  # one 512-px stored JPEG decoded to 224 px, 1 thread, this machine under load (an upper bound)
ROWS, TRAIN_ROWS, FOLDS = 150_000, 60_000, 5  # 75k + 75k rows; a fold trains on 4/5 of 75k
FT_EPOCHS, TOWER_STEPS = 4, 5 * 30 * (60_000 // 1024 + 1)  # 03b epochs; towers: folds x epochs x batches of 1024

# --- published ---
PEAK_TFLOPS = {"T4": 65.0, "P100": 18.7, "H100": 989.0}  # dense fp16 / bf16 peaks (NVIDIA datasheets)
REF_MS_P100 = 84.0  # the reference design's three large encoders, ms/sample on a P100 (design slides)

# --- assumptions ---
UTIL = 0.3  # share of the peak a BERT-size model reaches in mixed precision (a small model reaches less)
CORE_SPEEDUP = 0.6  # 2 -> 4 CPU cores: LightGBM, FAISS and torch threads scale, TF-IDF building does not
STEP_MS = 5.0  # per optimizer step of the small tower MLP on any of these GPUs (launch-bound, not FLOP-bound)


def estimate() -> dict:
    "Seconds per stage and card."
    fwd = 2 * MINILM_NONEMB_PARAMS * TOKENS; out = {}
    for card, peak in PEAK_TFLOPS.items():
        gpu = lambda flops: flops / (peak * 1e12 * UTIL)
        lgbm = (FULL_2CORE_S["04_lgbm_baseline"] - LGBM_SEARCH_S) * LGBM_FACTOR + LGBM_SEARCH_S + EXTRA_SPACES_S
        ft = gpu(3 * fwd * TRAIN_ROWS * FT_EPOCHS * FOLDS + fwd * (TRAIN_ROWS // 4 + ROWS // 2) * FOLDS)
        s = {"00_eda": FULL_2CORE_S["00_eda"], "01_preprocess": FULL_2CORE_S["01_preprocess"],
             "02_embed (offline encoders)": gpu(fwd * ROWS) + ROWS * DECODE_MS / 1e3 / 4,  # the image side is 4 decoding threads
             "03_towers_cv (512 wide)": TOWER_STEPS * STEP_MS / 1e3,
             "03b_finetune (every MiniLM layer, 128 tokens)": ft,
             "04_lgbm_baseline": lgbm * CORE_SPEEDUP,
             "04b_sparse_mlp": FULL_2CORE_S["04b_sparse_mlp"] * MLP_FACTOR * CORE_SPEEDUP,  # as if it stayed on the CPU: an upper bound
             "04c_peers": FULL_2CORE_S["04c_peers"], "05_knn_refine": REFINE_2CORE_S * CORE_SPEEDUP,
             "06_submission": FULL_2CORE_S["06_submission"]}
        s["total (offline encoders)"] = sum(s.values())
        ref = ROWS * REF_MS_P100 / 1e3 * (PEAK_TFLOPS["P100"] / peak if card != "P100" else 1.0)
        s["02_embed with the reference's large encoders (84 ms/sample on a P100, scaled by peak)"] = ref
        s["total with the large encoders"] = s["total (offline encoders)"] - s["02_embed (offline encoders)"] + ref
        out[card] = {k: round(v, 1) for k, v in s.items()}
    return out


def markdown(est:dict) -> str:
    cards = list(est); rows = list(est[cards[0]])
    fmt = lambda s: f"{s / 60:.1f}" if s < 3600 else f"{s / 60:.0f} ({s / 3600:.1f} h)"
    lines = ["| stage | " + " | ".join(f"{c} min" for c in cards) + " |", "|---|" + "---:|" * len(cards)]
    lines += [f"| {r} | " + " | ".join(fmt(est[c][r]) for c in cards) + " |" for r in rows]
    return "\n".join(lines + ["| Kaggle's session limit | " + " | ".join("720 (12 h)" for _ in cards) + " |"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="write the estimate as JSON here")
    a = ap.parse_args(argv); est = estimate()
    print(markdown(est))
    if a.out: Path(a.out).write_text(json.dumps({"estimate_seconds": est, "util": UTIL, "core_speedup": CORE_SPEEDUP}, indent=1) + "\n")


if __name__ == "__main__": main()
