"Shared fixtures: the real challenge rows and small synthetic twins."
import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT/"tests"/"fixtures"/"realdata"
os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg"); os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

@pytest.fixture(scope="session")
def real_dir(): return REAL

@pytest.fixture(scope="session")
def twin_small(tmp_path_factory):
    "A 1,500 + 300 row twin with 64 px images, built once per session."
    from spam_llms.synth import make_challenge_data
    return make_challenge_data(tmp_path_factory.mktemp("twin"), 1500, 300, seed=11, image_size=64, progress=False)

@pytest.fixture(scope="module")
def real_rows(real_dir, tmp_path_factory):
    "The 132 real training rows with prices (and the real sample test rows), five folds by row number."
    import shutil
    import numpy as np
    from spam_llms.data import load_challenge
    d = tmp_path_factory.mktemp("real_rows")
    shutil.copy(real_dir/"amazon2025_train_head132.csv", d/"train.csv"); shutil.copy(real_dir/"amazon2025_sample_test.csv", d/"test.csv")
    tr, te = load_challenge(d)
    tr = tr.assign(log_price=np.log1p(tr.price), fold=np.arange(len(tr)) % 5)
    return tr.reset_index(drop=True), te.reset_index(drop=True)
