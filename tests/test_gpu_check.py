"""bench/gpu_check.py --cpu-dry-run: the GPU check's code path (gpu profile, stages 01 -> 02 -> 03 -> 03b through run_chain)
on the CPU at smoke size, and its JSON report. About 2 minutes on 2 cores."""
import json, math, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["01_preprocess", "02_embed", "03_towers_cv", "03b_finetune"]
ENV = {**os.environ, "SPAM_LLMS_ROOT": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE",
       "MPLBACKEND": "Agg", "TOKENIZERS_PARALLELISM": "false"}


def gpu_check(tmp, *args):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"gpu_check.py"), "--cpu-dry-run", "--out", str(tmp/"out"), "--runs", str(tmp/"runs"), *args],
                       cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=1200)
    report = tmp/"out"/"gpu_check.json"
    return r, (json.loads(report.read_text()) if report.exists() else None)


def sane(x): return isinstance(x, (int, float)) and math.isfinite(x) and 0 < x < 200


@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpu_check")
    r, rep = gpu_check(tmp)
    assert r.returncode == 0 and rep is not None, r.stdout[-3000:] + r.stderr[-3000:]
    return tmp, r, rep


def test_dry_run_reports_every_stage(dry):
    tmp, r, rep = dry
    assert rep["ok"] and rep["error"] is None and rep["mode"] == "cpu-dry-run"
    assert rep["device"] == "cpu" and rep["profile"] == "gpu" and rep["peak_gpu_mib"] is None
    assert list(rep["stages"]) == STAGES
    for s, v in rep["stages"].items():
        assert v["seconds"] > 0 and v["rows_per_s"] > 0 and v["stage_rows_per_s"] > 0 and v["peak_gpu_mib"] is None, (s, v)
    assert rep["stages"]["02_embed"]["backend"] == "torch-cpu-bf16"  # the GPU's precision path, not the CPU int8 one
    assert "03b_finetune.max_new_folds=1" in rep["sets"] and "02_embed.image_encoder=" in rep["sets"]
    log = (tmp/"out"/"gpu_check.log").read_text()
    assert all(f"[{s}] running" in log for s in STAGES) and "[gpu_check] ok" in log
    assert not list((tmp/"out").glob(".*.tmp"))  # the JSON was renamed into place


def test_dry_run_scores_towers_and_one_finetuned_fold(dry):
    _, _, rep = dry
    tw, ft = rep["towers"], rep["finetune"]
    assert sane(tw["oof_smape"]) and len(tw["fold_smape"]) == 5 and "text" in tw["blocks"]
    assert rep["data"]["test_truth"] == (tw["test_smape"] is not None)
    if tw["test_smape"] is not None: assert sane(tw["test_smape"])
    assert not ft["complete"] and len(ft["folds"]) == 1  # max_new_folds=1: one fold trained, then the stage stops
    (k, fold), = ft["folds"].items()
    assert sane(fold["finetune_smape"]) and sane(fold["towers_smape"]) and fold["rows_per_s"] > 0
    assert fold["towers_smape"] == pytest.approx(tw["fold_smape"][int(k)], abs=1e-3)  # the same rows as the towers' fold


def test_dry_run_finetune_trains_every_layer(dry):
    ft = dry[2]["finetune"]
    assert ft["settings"]["n_train_layers"] == -1 and ft["settings"]["max_len"] == 32
    assert ft["every_layer_trained"] and ft["encoder_params_trained"] == ft["encoder_params_total"] > 20_000_000  # MiniLM-L6, embeddings too
    assert ft["trained_layers"] == list(range(6)) and ft["n_trainable_params"] > ft["head_params"] > 0


def test_bad_setting_fails_clearly(tmp_path):
    r, rep = gpu_check(tmp_path, "--set", "02_embed.no_such_key=1")
    assert r.returncode == 1 and not rep["ok"] and "no_such_key" in rep["error"]
    assert "[gpu_check] FAILED" in (tmp_path/"out"/"gpu_check.log").read_text()
