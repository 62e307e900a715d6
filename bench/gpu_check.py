#!/usr/bin/env python
"""The GPU path, proven (issue 28): one prepared check of the `gpu` profile's GPU stages on the real dev set.

    python3 bench/gpu_check.py --install bench/_work/gpu_wheels --out $OUT/gpu_check   # offline GPU machine (one shot)
    python3 bench/gpu_check.py --out DIR                      # a CUDA machine that already has the project's packages
    .venv/bin/python bench/gpu_check.py --cpu-dry-run --out DIR   # the same code path on the CPU at smoke size (~2-3 min)
    .venv/bin/python bench/gpu_check.py --prepare bench/_work/gpu_wheels   # here, with PyPI: what the offline run needs

Runs 01_preprocess -> 02_embed (text only, bf16 or fp16 as the card allows) -> 03_towers_cv (the reference widths) -> 03b_finetune (every layer,
128 tokens; one fold by default: `max_new_folds`) through `spam_llms.pipeline.run_chain` with the `gpu` profile, samples
device-wide GPU memory from this process (the stages run in papermill kernels), and writes OUT/gpu_check.json
(atomically) and OUT/gpu_check.log. Exits 1 with the failing stage's message when a stage fails. See bench/GPU.md.
"""
from __future__ import annotations
import argparse, json, math, os, re, subprocess, sys, threading, time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["01_preprocess", "02_embed", "03_towers_cv", "03b_finetune"]
DEV = ROOT.parent/"shared"/"realdata"/"amazon2025_dev"  # the real dev set beside the checkout
FIXTURES = ROOT/"tests"/"fixtures"/"realdata"           # 132 + 100 real rows (no truth): the dry run's fallback
# both modes: text block only (the dev set's image links are unreachable offline); on CUDA the card picks the precision
# (precision auto: bf16 from compute capability 8.0, fp16 below), the CPU dry run takes the bf16 torch path
SETS = ["02_embed.image_encoder="]
# the dry run shrinks sizes only: every fine-tune layer still trains, the towers keep their widths
DRY_SETS = ["02_embed.precision=bf16", "02_embed.max_tokens=32", "03_towers_cv.epochs=2", "03b_finetune.max_len=32", "03b_finetune.epochs=1",
            "03b_finetune.batch_size=16", "03b_finetune.cache_batch_size=64"]
DRY_ROWS = (300, 100)  # train, test rows of the dry run's slice


class Sampler:
    "Peak per stage of device-wide used GPU memory (MiB; pynvml, else nvidia-smi) and of this process tree's RSS (MB), polled from here."
    def __init__(self, gpu:bool, every:float=0.2):
        self.gpu, self.every, self.stage, self.peak, self.rss, self.baseline, self._stop = gpu, every, None, {}, {}, None, threading.Event()
        self._nvml = None
        if gpu:
            try:
                import pynvml; pynvml.nvmlInit(); self._nvml = pynvml
            except Exception: pass
    def read_rss(self) -> float:
        import psutil
        me = psutil.Process(); tot = 0
        for p in [me] + me.children(recursive=True):
            try: tot += p.memory_info().rss
            except psutil.Error: pass
        return tot / 1e6
    def read(self) -> float|None:
        try:
            if self._nvml:
                n = self._nvml
                return sum(n.nvmlDeviceGetMemoryInfo(n.nvmlDeviceGetHandleByIndex(i)).used for i in range(n.nvmlDeviceGetCount())) / 2**20
            r = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10)
            return float(sum(float(v) for v in r.stdout.split())) if r.returncode == 0 else None
        except Exception: return None
    def _loop(self):
        while not self._stop.wait(self.every):
            s = self.stage
            if not s: continue
            self.rss[s] = round(max(self.rss.get(s, 0.0), self.read_rss()), 1)
            if self.gpu and (v := self.read()) is not None: self.peak[s] = max(self.peak.get(s, 0.0), v)
    def __enter__(self):
        self.baseline = self.read() if self.gpu else None; self._t = threading.Thread(target=self._loop, daemon=True); self._t.start(); return self
    def __exit__(self, *exc): self._stop.set(); self._t.join()


def dry_data(src:Path, dst:Path) -> Path:
    "The dry run's data: the first DRY_ROWS train / test rows of `src` (and their test_truth rows), or the test fixtures."
    import pandas as pd
    dst.mkdir(parents=True, exist_ok=True)
    if not (src/"train.csv").exists():  # CI without the dev set: the real rows kept in tests/fixtures
        pd.read_csv(FIXTURES/"amazon2025_train_head132.csv").to_csv(dst/"train.csv", index=False)
        pd.read_csv(FIXTURES/"amazon2025_sample_test.csv").to_csv(dst/"test.csv", index=False); return dst
    tr, te = pd.read_csv(src/"train.csv", nrows=DRY_ROWS[0]), pd.read_csv(src/"test.csv", nrows=DRY_ROWS[1])
    tr.to_csv(dst/"train.csv", index=False); te.to_csv(dst/"test.csv", index=False)
    if (src/"test_truth.csv").exists():
        t = pd.read_csv(src/"test_truth.csv"); t[t.sample_id.isin(te.sample_id)].to_csv(dst/"test_truth.csv", index=False)
    return dst


def truth_smape(pred_log, ids, truth) -> float|None:
    "SMAPE of log1p test predictions against test_truth.csv (None without a truth file)."
    import numpy as np, pandas as pd
    from spam_llms.core import smape
    if truth is None: return None
    t = pd.Series(np.asarray(pred_log, float), index=np.asarray(ids)).reindex(truth.sample_id)
    return round(smape(truth.price.to_numpy(), np.expm1(t.to_numpy())), 3)


def cell_start(nb_path:Path, code:str) -> float|None:
    "Epoch seconds at which papermill started the first cell containing `code` (None if unknown)."
    try:
        cell = next(c for c in json.loads(nb_path.read_text())["cells"] if code in "".join(c.get("source", "")))
        t = datetime.fromisoformat(cell["metadata"]["papermill"]["start_time"])
        return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
    except Exception: return None


def finetune_report(run:Path, y, folds, towers_oof, truth, test_ids) -> dict:
    "The fine-tune's folds from its checkpoints (trained folds, fold SMAPE next to the towers', what was trained) + metrics.json when complete."
    import numpy as np
    from safetensors import safe_open
    from spam_llms.core import load_json, smape_log
    from spam_llms.finetune import load_encoder
    from transformers.utils import logging as hf_logging
    d, out = run/"finetune", {"complete": (run/"finetune"/"metrics.json").exists(), "folds": {}}
    start, ckpts = cell_start(run/"nbs"/"03b_finetune.ipynb", "run_finetune("), sorted(d.glob("fold*.safetensors"), key=lambda p: p.stat().st_mtime)
    if not ckpts: raise RuntimeError(f"03b_finetune wrote no fold checkpoint in {d}")
    for f in ckpts:
        with safe_open(str(f), "pt") as h:
            meta = {k: json.loads(v) for k, v in h.metadata().items()}; k = int(meta["fold"]); va = folds == k
            sizes = {n: math.prod(h.get_slice(n).get_shape()) for n in h.keys() if n.startswith("model.") and n != "model.target"}
            vp, tp = h.get_tensor("valid_pred").numpy(), h.get_tensor("test_pred").numpy()
        s = meta["settings"]; fold = {"finetune_smape": round(smape_log(y[va], vp), 3), "towers_smape": round(smape_log(y[va], towers_oof[va]), 3),
                                      "test_smape_this_fold_model": truth_smape(tp, test_ids, truth), "train_rows": int((~va).sum())}
        if start and not out["folds"]:  # first fold: its file's time minus the stage cell's start (includes load + tokenising + predicting)
            fold["wall_seconds"] = round(f.stat().st_mtime - start, 1); fold["rows_per_s"] = round(s["epochs"] * fold["train_rows"] / fold["wall_seconds"], 1)
        out["folds"][k] = fold
    enc = sum(v for n, v in sizes.items() if n.startswith("model.encoder.")); hf_logging.disable_progress_bar()
    total = sum(p.numel() for p in load_encoder(s["model_name"])[1].parameters())  # the whole encoder, embeddings included
    out.update(settings={k: s[k] for k in ("model_name", "max_len", "n_train_layers", "epochs", "batch_size", "lr", "loss")},
               n_trainable_params=sum(sizes.values()), head_params=sum(sizes.values()) - enc, encoder_params_trained=enc,
               encoder_params_total=total, every_layer_trained=enc == total,
               trained_layers=sorted({int(m) for n in sizes for m in re.findall(r"\.layer\.(\d+)\.", n)}))
    if out["complete"]:
        import pandas as pd
        m, tp = load_json(d/"metrics.json"), pd.read_parquet(d/"test.parquet")
        out.update(oof_smape=round(m["oof_smape"], 3), train_rows_per_s=round(m["train_rows_per_s"], 1), seconds_per_fold=round(m["seconds_per_fold"], 1),
                   test_smape=truth_smape(tp.pred, tp.sample_id, truth))
    return out


def collect(run:Path, times:dict, mem:Sampler, truth) -> dict:
    "Per-stage seconds, rows/s and peak memory; towers and fine-tune SMAPE (OOF, same fold, test)."
    import numpy as np, pandas as pd
    from spam_llms.core import load_json, smape_log
    tr = pd.read_parquet(run/"preprocessed"/"train.parquet"); te = pd.read_parquet(run/"preprocessed"/"test.parquet")
    y, folds, rows = tr.log_price.to_numpy(float), tr.fold.to_numpy(), len(tr) + len(te)
    tw = load_json(run/"towers"/"metrics.json"); tw_test = pd.read_parquet(run/"towers"/"test.parquet")
    tw_oof = pd.read_parquet(run/"towers"/"oof.parquet").set_index("sample_id").pred.reindex(tr.sample_id).to_numpy()
    emb = load_json(run/"embeddings"/"metrics.json")["blocks"]["text"]
    ft = finetune_report(run, y, folds, tw_oof, truth, te.sample_id.to_numpy())
    stages = {}
    for s in STAGES:
        marker = run/".stages"/f"{s}.json"; mk = load_json(marker) if marker.exists() else {}
        sec = mk.get("seconds") or round(times[s][1] - times[s][0], 1)
        stages[s] = {"seconds": sec, "stage_rows_per_s": round(rows / sec, 1), "peak_gpu_mib": mem.peak.get(s) if mem.gpu else None,
                     "peak_rss_mb": mem.rss.get(s)}
    stages["01_preprocess"].update(rows_per_s=stages["01_preprocess"]["stage_rows_per_s"], rows_per_s_means="train+test rows / stage seconds")
    stages["02_embed"].update(rows_per_s=emb["rows_per_s"], rows_per_s_means="text encoder rows / encoding seconds (embeddings/metrics.json)",
                              backend=emb["backend"], ms_per_sample=emb["ms_per_sample"])
    stages["03_towers_cv"].update(rows_per_s=stages["03_towers_cv"]["stage_rows_per_s"], rows_per_s_means="train+test rows / stage seconds (5 folds)",
                                  train_seconds_per_fold=round(tw["train_seconds_per_fold"], 2), n_params=tw["n_params"])
    first = next(iter(ft["folds"].values()), {})
    stages["03b_finetune"].update(rows_per_s=ft.get("train_rows_per_s") or first.get("rows_per_s"),
                                  rows_per_s_means="training rows x epochs / s: the library's train_rows_per_s when every fold ran, else the "
                                                   "first fold's checkpoint time minus its cell's start (load, tokenising and prediction included)")
    towers = {"oof_smape": round(tw["oof_smape"], 3), "fold_smape": [round(v, 3) for v in tw["fold_smape"]], "blocks": tw["blocks"],
              "test_smape": truth_smape(tw_test.pred, tw_test.sample_id, truth)}
    return {"n_train": len(tr), "n_test": len(te), "stages": stages, "towers": towers, "finetune": ft}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="folder for gpu_check.json and gpu_check.log")
    ap.add_argument("--cpu-dry-run", action="store_true", help="same stages on the CPU at smoke size (a slice of the data)")
    ap.add_argument("--data", default="", help=f"challenge folder (default: {DEV}, else the prepared copy under --install)")
    ap.add_argument("--runs", default=str(ROOT/"bench"/"_work"/"gpu_check_runs"), help="outputs folder of the chain's run")
    ap.add_argument("--finetune-folds", type=int, default=1, help="03b_finetune.max_new_folds (0 = all 5 folds)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="STAGE.KEY=VALUE", help="extra stage overrides")
    ap.add_argument("--install", default="", metavar="DIR", help="install what is missing from DIR (made by --prepare) first")
    ap.add_argument("--prepare", default="", metavar="DIR", help="download wheels + fp16 MiniLM + dev data into DIR, then stop")
    ap.add_argument("--python-version", default="3.11.7,3.12.3", help="--prepare: CPython versions of the wheels (this machine's; the lent GPU machines')")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT/"scripts")); import offline_env
    if a.prepare: return offline_env.prepare(Path(a.prepare), DEV, a.python_version.split(","))
    if not a.out: ap.error("--out is required")
    out = Path(a.out).absolute(); out.mkdir(parents=True, exist_ok=True); logf = open(out/"gpu_check.log", "w", buffering=1)
    times, t0, dry = {}, time.time(), a.cpu_dry_run
    def log(text="", end="\n", flush=True):
        "Print and log; the chain's '[stage] running' / ' done' / ' FAILED' lines time the stages and steer the GPU sampler."
        print(text, end=end, flush=True); logf.write(text + end)
        if m := re.match(r"\[(\w+)\] running", text): times[m[1]] = [time.time(), None]; mem.stage = m[1]
        elif re.match(r" (done|FAILED)", text) and mem.stage: times[mem.stage][1] = time.time(); mem.stage = None
    res = {"check": "bench/gpu_check.py", "mode": "cpu-dry-run" if dry else "gpu", "ok": False, "error": None, "profile": "gpu",
           "device": "cpu" if dry else "cuda", "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "argv": sys.argv[1:]}
    mem = Sampler(gpu=False)
    try:
        offline_env.setup_env(ROOT)
        if a.install: res["installed"] = offline_env.install(Path(a.install), ROOT, log)
        import torch
        from spam_llms.pipeline import run_chain, parse_sets, StageFailed
        from spam_llms.core import amp_dtype
        res["env"] = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda, "cpus": os.cpu_count(),
                      "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "PYTHONPATH": os.environ["PYTHONPATH"],
                      "capability": list(torch.cuda.get_device_capability(0)) if torch.cuda.is_available() else None,
                      "amp_dtype": str(amp_dtype("cuda")).replace("torch.", "") if torch.cuda.is_available() else None}  # bf16 / fp16: what the card got
        if not dry and not torch.cuda.is_available(): raise RuntimeError("torch sees no CUDA device; use --cpu-dry-run on a machine without one")
        prepared = (res.get("installed") or {}).get("data")  # the dev set unpacked from the prepared folder
        data = Path(a.data) if a.data else DEV if (DEV/"train.csv").exists() or not prepared else Path(prepared)
        run = f"gpu_check{'_dry' if dry else ''}_{time.strftime('%Y%m%d_%H%M%S')}"; run_dir = Path(a.runs).absolute()/run
        if dry: data = dry_data(data, run_dir/"data_slice")
        sets = SETS + (DRY_SETS if dry else []) + [f"03b_finetune.max_new_folds={1 if dry else a.finetune_folds}",
                                                  f"02_embed.cache_dir={run_dir/'embed_cache'}"] + a.sets
        res.update(data={"dir": str(data), "test_truth": (data/"test_truth.csv").exists()}, sets=sets, run_dir=str(run_dir))
        log(f"[gpu_check] {res['mode']} on {res['env']['gpu'] or 'cpu'}; data {data}; run {run_dir}")
        mem = Sampler(gpu=not dry)
        with mem:
            res["gpu_memory_baseline_mib"] = mem.baseline
            try:
                run_chain(root=ROOT, run=run, profile="gpu", data=str(data), device=res["device"], stages=STAGES, sets=parse_sets(sets),
                          outputs=str(run_dir.parent), log=log)
            except StageFailed as e:  # max_new_folds ends 03b with FoldLimitReached once its folds are trained: expected
                if not ("03b_finetune" in str(e) and "FoldLimitReached" in str(e)): raise
                log(f"[gpu_check] 03b_finetune stopped after its fold limit (max_new_folds), as asked")
        import pandas as pd
        truth = pd.read_csv(data/"test_truth.csv") if (data/"test_truth.csv").exists() else None
        res.update(collect(run_dir, times, mem, truth))
        peaks = [v for v in mem.peak.values() if v is not None]
        res.update(ok=True, peak_gpu_mib=max(peaks) if peaks else None)
    except Exception as e:
        res["error"] = f"{type(e).__name__}: {e}"; log(f"[gpu_check] FAILED: {res['error']}")
    res["wall_seconds"] = round(time.time() - t0, 1)
    tmp = out/".gpu_check.json.tmp"; tmp.write_text(json.dumps(res, indent=1, default=str)); os.replace(tmp, out/"gpu_check.json")
    if res["ok"]:
        for s, v in res["stages"].items():
            log(f"{s:>14}: {v['seconds']:7.1f} s  {v['rows_per_s'] or float('nan'):9.1f} rows/s  peak GPU {v['peak_gpu_mib'] or 'n/a'} MiB")
        f = res["finetune"]; k = next(iter(f["folds"]), None)
        log(f"towers OOF SMAPE {res['towers']['oof_smape']}, test {res['towers']['test_smape']}")
        if k is not None: log(f"fold {k}: fine-tune {f['folds'][k]['finetune_smape']} vs towers {f['folds'][k]['towers_smape']} "
                              f"(every layer trained: {f['every_layer_trained']}, {f['n_trainable_params']:,} params)")
    log(f"[gpu_check] {'ok' if res['ok'] else 'FAILED'} in {res['wall_seconds']} s -> {out/'gpu_check.json'}")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
