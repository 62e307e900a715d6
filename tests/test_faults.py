"""Faults survived: a disk that fills up in the middle of a stage. The run's outputs go to a small tmpfs (mounted here; the
test skips, saying why, where it cannot mount); the disk is filled once 01_preprocess starts. The run must stop with "no space
left on device" naming the run folder, leave no completion marker and no half-written file, and complete once space is freed.
(Kill -9 in every stage is in tests/test_chain.py, beside the uninterrupted chain it compares with.)"""
import os, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPAM_RUN = str(Path(sys.executable).parent/"spam_run")
ENV = {**os.environ, "SPAM_LLMS_ROOT": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE",
       "MPLBACKEND": "Agg", "TOKENIZERS_PARALLELISM": "false"}
STAGES = ["--stages", "00_eda,01_preprocess"]


@pytest.fixture
def small_disk(tmp_path):
    "A 300 MB tmpfs (room for the smoke run's estimate), unmounted afterwards."
    d = tmp_path/"disk"; d.mkdir()
    if os.geteuid() != 0: pytest.skip("mounting a tmpfs needs root (mount -t tmpfs); the disk-full test did not run")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300m", "tmpfs", str(d)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); the disk-full test did not run")
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(disk:Path) -> Path:
    "Write a file until the disk is full; returns it."
    f = disk/"filler"
    with open(f, "wb") as fh:
        try:
            while True: fh.write(b"\0" * 2**20); fh.flush()
        except OSError: pass
    return f


def test_disk_fills_up_mid_stage_then_rerun_completes(small_disk):
    run = small_disk/"r"
    p = subprocess.Popen([SPAM_RUN, "--profile", "smoke", "--outputs", str(small_disk), "--run", "r", *STAGES], cwd=ROOT, env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (run/"nbs"/"01_preprocess.ipynb").exists():
        assert p.poll() is None and time.time() - t0 < 600, "chain ended before 01_preprocess started"
        time.sleep(0.1)
    filler = fill(small_disk); out, err = p.communicate(timeout=600)
    print(out[-2000:], err[-2000:])
    assert p.returncode == 1 and "Traceback" not in err, err[-3000:]
    assert "no space left on device under" in err and str(run) in err  # names the folder (and the file when the error does)
    assert not (run/".stages"/"01_preprocess.json").exists()  # the failed stage is not marked complete
    assert not list(run.rglob(".*.tmp"))  # no half-written artifact left behind
    for f in run.rglob("*.parquet"): pd.read_parquet(f)  # whatever carries an artifact's name is whole
    filler.unlink()
    r = subprocess.run([SPAM_RUN, "--profile", "smoke", "--outputs", str(small_disk), "--run", "r", *STAGES], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "[00_eda] complete with these parameters and code, skipped" in r.stdout and "[01_preprocess] running" in r.stdout
    assert all((run/".stages"/f"{s}.json").exists() for s in ("00_eda", "01_preprocess")) and len(pd.read_parquet(run/"preprocessed"/"train.parquet")) == 600


def test_stage_marker_is_keyed_by_the_data(tmp_path):
    "A stage complete with the same parameters and code reruns when a price in the data folder changed (a stale marker is not trusted)."
    import nbformat
    from spam_llms.pipeline import run_stage, data_digest
    nb = tmp_path/"01_tiny.ipynb"; run = tmp_path/"run"; data = tmp_path/"data"; run.mkdir(); data.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("run_dir: str = ''", metadata={"tags": ["parameters"]}),
                                                   nbformat.v4.new_code_cell("x = 1")]), nb)
    (data/"train.csv").write_text("sample_id,catalog_content,image_link,price\n1,a,,2.5\n")
    kw = dict(params={"run_dir": str(run)}, log=lambda *a, **k: None)
    assert run_stage(nb, run, inputs=data_digest(data), **kw) == "ran"
    assert run_stage(nb, run, inputs=data_digest(data), **kw) == "skipped"
    (data/"train.csv").write_text("sample_id,catalog_content,image_link,price\n1,a,,3.5\n")  # one price corrected, same ids
    assert run_stage(nb, run, inputs=data_digest(data), **kw) == "ran"
