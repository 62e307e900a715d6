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
