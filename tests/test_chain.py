"""End to end: the whole smoke chain through the runner, determinism, kill -9 and resume, real rows offline.

These run `spam_run` (what ./run_all.sh calls) in subprocesses on the smoke profile; each chain takes a minute or two.
"""
import json, os, random, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd, pytest
from spam_llms.pipeline import list_stages

ROOT = Path(__file__).resolve().parents[1]
SPAM_RUN = str(Path(sys.executable).parent/"spam_run")
ENV = {**os.environ, "SPAM_LLMS_ROOT": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE",
       "MPLBACKEND": "Agg", "TOKENIZERS_PARALLELISM": "false"}

def chain(outputs, run, *args, check=True):
    r = subprocess.run([SPAM_RUN, "--profile", "smoke", "--outputs", str(outputs), "--run", run, *args], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=1200)
    if check: assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r

@pytest.fixture(scope="module")
def outputs(tmp_path_factory): return tmp_path_factory.mktemp("outputs")

@pytest.fixture(scope="module")
def clean_run(outputs):
    r = chain(outputs, "a")
    return outputs/"a", r.stdout, r.stderr

def test_chain_writes_a_valid_submission(clean_run):
    run, out, err = clean_run
    lines = out.strip().splitlines()
    # the closing lines: submission, its SMAPE, what ran (images, device, precision), then the report's path
    assert lines[-4] == f"submission: {run/'submission'/'submission.csv'}" and lines[-3].startswith("final OOF SMAPE (blend): ")
    assert lines[-2].startswith("images used ") and "; device cpu; precision " in lines[-2] and "Text only" not in lines[-2]
    assert lines[-1] == f"report: {run/'report'/'index.html'} (open it in a browser)" and (run/"report/index.html").exists()  # the last line: the report
    assert len([l for l in lines if l.startswith("[")]) == len(list_stages(ROOT/"nbs")) + 1  # one line per stage, plus [data]
    assert "test SMAPE" not in lines[-3] and "Kernel is running over TCP" not in err  # no test_truth.csv in the twin: nothing about test
    sub = pd.read_csv(run/"submission/submission.csv"); test = pd.read_csv(run/"data/test.csv")
    assert list(sub.columns) == ["sample_id", "price"] and sorted(sub.sample_id) == sorted(test.sample_id) and (sub.price > 0).all()
    for stage in ["00_eda", "01_preprocess", "02_embed", "03_towers_cv", "04_lgbm_baseline", "05_knn_refine", "06_submission"]:
        assert (run/"nbs"/f"{stage}.ipynb").exists() and (run/".stages"/f"{stage}.json").exists()
    assert list((run/"figures").glob("*.png")) and not list(ROOT.glob("nbs/outputs"))

def test_rerun_skips_and_same_seed_is_byte_identical(outputs, clean_run):
    run, _, _ = clean_run
    r = chain(outputs, "a"); assert r.stdout.count("skipped (use --force to rerun)") == len(list_stages(ROOT/"nbs"))
    chain(outputs, "b")
    assert (outputs/"b/submission/submission.csv").read_bytes() == (run/"submission/submission.csv").read_bytes()

def test_other_seed_changes_folds(outputs, clean_run):
    "The same rows (run a's twin, passed as --data) under another seed get other folds."
    run, _, _ = clean_run
    chain(outputs, "c", "--seed", "7", "--stages", "00_eda,01_preprocess", "--data", str(run/"data"))
    fa = pd.read_parquet(run/"preprocessed/train.parquet").set_index("sample_id").fold; fc = pd.read_parquet(outputs/"c/preprocessed/train.parquet").set_index("sample_id").fold
    assert sorted(fa.index) == sorted(fc.index)  # the same ids: the comparison below is row by row
    assert (fa != fc.reindex(fa.index)).mean() > 0.5  # five folds: about 4 rows in 5 move

def test_a_stage_that_runs_reruns_every_stage_after_it(outputs):
    "A stage whose parameters changed runs again, and so does every later one (its inputs changed), not the ones before."
    stages = ["--stages", "00_eda,01_preprocess"]
    chain(outputs, "d", *stages)
    assert chain(outputs, "d", *stages).stdout.count("skipped (use --force to rerun)") == 2
    r = chain(outputs, "d", *stages, "--set", "00_eda.n_train=999")
    assert "[00_eda] running" in r.stdout and "[01_preprocess] running" in r.stdout and "skipped" not in r.stdout
    r = chain(outputs, "d", "--stages", "01_preprocess", "--set", "00_eda.n_train=999")  # 00_eda not run: 01 is up to date
    assert r.stdout.count("skipped (use --force to rerun)") == 1

def _completed_cells(nb:Path) -> int:
    "Code cells papermill has finished in an executed notebook it is still writing (0 while unreadable)."
    try: cells = json.loads(nb.read_text())["cells"]
    except (OSError, ValueError, KeyError): return 0
    return sum(c.get("metadata", {}).get("papermill", {}).get("status") == "completed" for c in cells if c["cell_type"] == "code")

def _kill_in(run_dir:Path, stage:str, cell:int, outputs, run):
    "Start the chain and kill -9 its whole process group once `cell` code cells of `stage` have finished (a point inside the stage)."
    p = subprocess.Popen([SPAM_RUN, "--profile", "smoke", "--outputs", str(outputs), "--run", run], cwd=ROOT, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0, nb = time.time(), run_dir/"nbs"/f"{stage}.ipynb"
    while _completed_cells(nb) < cell:
        assert p.poll() is None and time.time() - t0 < 900, f"chain ended before cell {cell} of {stage}"
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not (run_dir/".stages"/f"{stage}.json").exists()  # the killed stage is not marked complete

def test_kill_9_in_every_stage_then_rerun_gives_same_submission(outputs, clean_run):
    "kill -9 once inside each stage 00 -> 06, after a seeded random number of its cells, resuming each time: the run completes, byte-identical."
    run, _, _ = clean_run; name, rng = "kill_each", random.Random(37)
    for stage in list_stages(ROOT/"nbs"):
        n = sum(c["cell_type"] == "code" for c in json.loads((ROOT/"nbs"/f"{stage}.ipynb").read_text())["cells"])
        _kill_in(outputs/name, stage, rng.randint(1, n - 2), outputs, name)  # of n + 1 (papermill injects one): a point inside
    chain(outputs, name)
    assert (outputs/name/"submission/submission.csv").read_bytes() == (run/"submission/submission.csv").read_bytes()

def test_real_rows_offline(tmp_path, outputs, real_dir):
    "A folder holding only the real train.csv/test.csv, images unreachable: the chain completes and the submission validates."
    d = tmp_path/"real"; d.mkdir()
    (d/"train.csv").write_bytes((real_dir/"amazon2025_train_head132.csv").read_bytes())
    (d/"test.csv").write_bytes((real_dir/"amazon2025_sample_test.csv").read_bytes())
    (d/"test_truth.csv").write_bytes((real_dir/"amazon2025_sample_test_out.csv").read_bytes())  # the organisers' format sample: ids match
    r = chain(outputs, "real", "--data", str(d))
    sub = pd.read_csv(outputs/"real/submission/submission.csv")
    assert len(sub) == 100 and set(sub.sample_id) == set(pd.read_csv(d/"test.csv").sample_id) and (sub.price > 0).all()
    import json
    bad = json.loads((outputs/"real/embeddings/metrics.json").read_text())["blocks"]["image"]["bad_images"]
    assert bad == {"train": 132, "test": 100}  # every image counted as missing, none silently embedded
    *_, last, used, report = r.stdout.strip().splitlines()   # the score, what ran, the report's path
    assert last.startswith("final OOF SMAPE (blend): ") and "; test SMAPE (blend vs test_truth.csv): " in last
    assert used.startswith("images used 0 / 132 train, 0 / 100 test; device cpu;") and "Text only" in used and report.startswith("report: ")
    m = json.loads((outputs/"real/submission/metrics.json").read_text())
    truth = pd.read_csv(d/"test_truth.csv").set_index("sample_id").price.loc[sub.sample_id].to_numpy()
    import numpy as np
    got = float(np.mean(np.abs(sub.price - truth) / ((truth + sub.price) / 2)) * 100)
    assert abs(m["blend_test_smape"] - got) < 0.01 and set(m["test_smape"]) == set(m["models"])
