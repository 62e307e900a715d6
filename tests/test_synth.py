"The synthetic twin: real format, statistics near the real data's, a known noise floor, determinism."
import numpy as np, pandas as pd, pytest
from spam_llms.data import load_challenge, open_image
from spam_llms.synth import make_challenge_data, twin_report, ensure_twin
from spam_llms.core import smape

def test_format_and_validation(twin_small):
    tr, te = load_challenge(twin_small)
    assert (len(tr), len(te)) == (1500, 300)
    assert list(pd.read_csv(twin_small/"test.csv").columns) == ["sample_id", "catalog_content", "image_link"]
    cc = tr.catalog_content
    assert cc.str.startswith("Item Name: ").all() and cc.str.contains(r"\nValue: [^\n]*\nUnit: [^\n]*\n$").all()
    assert 0.75 < cc.str.contains("Bullet Point").mean() < 0.89 and 0.65 < cc.str.contains("Product Description").mean() < 0.79
    assert cc.str.contains("Bullet Point: ").any() and cc.str.contains("<p>").any()
    assert tr.sample_id.between(0, 299_439).all()

def test_statistics_close_to_real(twin_small):
    rep = twin_report(twin_small)
    assert 25 <= rep.loc["oracle_smape", "twin"] <= 35
    assert abs(rep.loc["below_p99_log_mean", "twin"] - 2.71) < 0.15 and abs(rep.loc["below_p99_log_var", "twin"] - 0.83) < 0.15
    assert 4.8 < rep.loc["above_p99_log_mean", "twin"] < 5.9 and 11 < rep.loc["median", "twin"] < 17
    assert 500 < rep.loc["text_len_median", "twin"] < 800

def test_units_with_real_frequencies(twin_small):
    u = pd.read_csv(twin_small/"train.csv").catalog_content.str.extract(r"Unit: (.*)\n$")[0].fillna("")
    share = u.value_counts(normalize=True)
    assert 0.45 < share["Ounce"] < 0.65 and 0.15 < share["Count"] < 0.31 and 0.09 < share["Fl Oz"] < 0.21
    assert {"ounce", "oz", "None"} <= set(share.index)

def test_duplicates_and_price_artifacts(twin_small):
    tr = pd.read_csv(twin_small/"train.csv")
    assert tr.catalog_content.value_counts().max() == 21  # the 21-copy greeting card
    g = tr.groupby("catalog_content").price.agg(["count", "min", "max"]).query("count > 1")
    assert (g["max"] > g["min"]).mean() > 0.9  # copies priced differently
    assert tr.image_link.duplicated().mean() > 0.02
    raw = (twin_small/"train.csv").read_text()
    assert "00000000001" in raw  # float artifacts such as 4.890000000000001
    assert np.isclose((tr.price * 1000).round() % 10, 5).any()  # half-cents

def test_images_carry_the_visual_cue(twin_small):
    o = pd.read_csv(twin_small/"oracle.csv"); tr = pd.read_csv(twin_small/"train.csv").merge(o, on="sample_id")
    gold = tr[tr.visual_cue == "gold"].head(20); plain = tr[tr.visual_cue == "plain"].head(20)
    def goldness(link):
        im, s = open_image(twin_small/link)
        if im is None: return np.nan
        a = np.asarray(im, float); return np.mean(np.abs(a - [212, 175, 55]).max(-1) < 14)  # the gold band's colour
    g, p = np.nanmedian([goldness(l) for l in gold.image_link]), np.nanmedian([goldness(l) for l in plain.image_link])
    assert g > 0.03 and p < 0.005, (g, p)
    # the cue moves the oracle price, all else aside
    assert tr.groupby("visual_cue").oracle_log_price.mean().idxmax() == "gold"
    # a few images are missing on purpose, as broken links are in the real data
    missing = [l for l in tr.image_link.unique() if not (twin_small/l).exists()]
    assert 0 < len(missing) < 0.02 * tr.image_link.nunique()

def test_deterministic_and_seed_sensitive(tmp_path):
    a = make_challenge_data(tmp_path/"a", 200, 50, seed=5, image_size=32, progress=False)
    b = make_challenge_data(tmp_path/"b", 200, 50, seed=5, image_size=32, progress=False)
    c = make_challenge_data(tmp_path/"c", 200, 50, seed=6, image_size=32, progress=False)
    for f in ["train.csv", "test.csv", "oracle.csv"]: assert (a/f).read_bytes() == (b/f).read_bytes()
    assert (a/"train.csv").read_bytes() != (c/"train.csv").read_bytes()

def test_ensure_twin_reuses(tmp_path):
    d = ensure_twin(tmp_path/"t", 100, 20, seed=1, image_size=32); m = (d/"train.csv").stat().st_mtime_ns
    assert ensure_twin(tmp_path/"t", 100, 20, seed=1, image_size=32) == d and (d/"train.csv").stat().st_mtime_ns == m
