"""The dev set can be rebuilt from the official train.csv: scripts/make_devset.py with the committed sample_ids."""
import subprocess, sys
from pathlib import Path
import pandas as pd, pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"scripts"))
from make_devset import make_devset, IDS  # noqa: E402

DEV = ROOT.parent/"shared"/"realdata"/"amazon2025_dev"  # where the dev set lives beside the checkouts (README: ../shared/realdata/amazon2025_dev)

def official_from(train:pd.DataFrame, test:pd.DataFrame, truth:pd.DataFrame, extra:pd.DataFrame, path:Path) -> Path:
    "An 'official' train.csv: the dev rows (test rows with their true price) and other rows, shuffled, written by pandas' defaults."
    rows = pd.concat([train, test.merge(truth, on="sample_id"), extra]).sample(frac=1.0, random_state=0)
    rows.to_csv(path, index=False); return path

@pytest.mark.skipif(not DEV.exists(), reason=f"the real dev set is not at {DEV} (this test rebuilds it byte for byte)")
def test_rebuilds_the_dev_set_byte_for_byte(tmp_path):
    read = lambda f: pd.read_csv(DEV/f, dtype=str, keep_default_na=False)
    head = pd.read_csv(ROOT/"tests/fixtures/realdata/amazon2025_train_head132.csv", dtype=str, keep_default_na=False)
    extra = head[~head.sample_id.isin(pd.read_csv(IDS, dtype=str).sample_id)]  # rows of the official file that are not in the dev set
    off = official_from(read("train.csv"), read("test.csv"), read("test_truth.csv"), extra, tmp_path/"train.csv")
    r = subprocess.run([sys.executable, str(ROOT/"scripts/make_devset.py"), str(off), str(tmp_path/"dev")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "train.csv 5,586 rows, test.csv 1,396 rows, test_truth.csv 1,396 rows" in r.stdout
    for f in ["train.csv", "test.csv", "test_truth.csv"]: assert (tmp_path/"dev"/f).read_bytes() == (DEV/f).read_bytes(), f

def test_split_and_errors_on_real_rows(tmp_path):
    "On the 132 real rows of the fixtures: the ids' order and split are kept; a missing id or a foreign file is an error naming it."
    head = pd.read_csv(ROOT/"tests/fixtures/realdata/amazon2025_train_head132.csv", dtype=str, keep_default_na=False)
    ids = pd.DataFrame({"sample_id": head.sample_id[::-1][:30], "split": ["train"] * 20 + ["test"] * 10}); ids.to_csv(tmp_path/"ids.csv", index=False)
    head.to_csv(tmp_path/"train.csv", index=False)
    n = make_devset(tmp_path/"train.csv", tmp_path/"dev", tmp_path/"ids.csv")
    assert n == {"train.csv": 20, "test.csv": 10, "test_truth.csv": 10}
    tr, te, tt = (pd.read_csv(tmp_path/"dev"/f, dtype=str, keep_default_na=False) for f in ["train.csv", "test.csv", "test_truth.csv"])
    assert tr.sample_id.tolist() == ids.sample_id[:20].tolist() and list(te.columns) == ["sample_id", "catalog_content", "image_link"]
    assert tt.price.tolist() == head.set_index("sample_id").price.loc[ids.sample_id[20:]].tolist()   # prices copied as text
    head.iloc[:-1].to_csv(tmp_path/"short.csv", index=False)
    with pytest.raises(ValueError, match=rf"1 sample_id\(s\) of the dev set are missing, e.g. {head.sample_id.iloc[-1]}"): make_devset(tmp_path/"short.csv", tmp_path/"d2", tmp_path/"ids.csv")
    head.drop(columns="price").to_csv(tmp_path/"noprice.csv", index=False)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['price'\]"): make_devset(tmp_path/"noprice.csv", tmp_path/"d3", tmp_path/"ids.csv")
