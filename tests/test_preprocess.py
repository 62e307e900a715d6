"""End-to-end checks of stage 01 (preprocess) on the real rows and on the synthetic twin."""
from __future__ import annotations
import json, math, re
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from spam_llms.data import read_challenge_csv, load_challenge
from spam_llms.preprocess import (UNIT_GROUPS, canonical_unit, extract_quantities, parse_catalog, preprocess_frame,
                                  make_folds, fold_leaks, run_preprocess, ensure_preprocessed, quantity_check)

REAL = Path(__file__).parent/"fixtures"/"realdata"


@pytest.fixture(scope="module")
def real():
    return pd.concat([read_challenge_csv(REAL/"amazon2025_train_head132.csv"),
                      read_challenge_csv(REAL/"amazon2025_sample_test.csv")], ignore_index=True)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    "A 3,000 + 500 row twin (small images), preprocessed once for the module."
    from spam_llms.synth import make_challenge_data
    root = tmp_path_factory.mktemp("twin")
    data = make_challenge_data(root/"data", 3000, 500, seed=7, image_size=32, progress=False)
    rep = run_preprocess(data, root/"preprocessed", n_folds=5, seed=7, progress=False)
    return root, data, rep


def test_every_real_row_parses(real):
    assert len(real) == 232
    for i, t in enumerate(real.catalog_content):
        p = parse_catalog(t)
        assert p["item_name"], f"row {i}: no item name"
        raw_value = re.findall(r"\nValue: ?(.*)", t)[-1].strip()
        assert math.isnan(p["value"]) == (raw_value.lower() == "nan"), f"row {i}: Value {raw_value!r} -> {p['value']}"
        raw_unit = re.findall(r"\nUnit: ?(.*)", t)[-1].strip()
        assert p["unit"] == (None if raw_unit in ("None", "") else raw_unit)
        assert p["bullets"] == [b.strip() for b in re.findall(r"\nBullet Point(?: \d+)?: ?(.*)", t) if b.strip()]
    feat = preprocess_frame(real)
    assert feat.text.str.len().gt(0).all()


def _readme_units() -> list[str]:
    "The raw Unit strings README.txt lists (counted ones and the 'also ...' ones)."
    txt = (REAL/"README.txt").read_text()
    block = txt[txt.index("Unit counts (train):") + len("Unit counts (train):"):txt.index("images:")]
    out = []
    for tok in block.replace("\n", " ").split(","):
        tok = re.sub(r"\(~?\d+ raw strings|\)|\.\.\.|^\s*also\s+", " ", tok).strip()
        tok = re.sub(r"\s+\d+$", "", tok).strip()
        if tok and tok not in ("missing/None", "empty"): out.append(tok)
    return out


def test_every_readme_unit_maps_to_a_group():
    units = _readme_units()
    assert len(units) >= 20 and {"Ounce", "Fl Oz", "Count", "gramm", "Liters", "Jar", "Each"} <= set(units), units
    for u in units:
        canon, group = canonical_unit(u)
        assert group in ("mass", "volume", "count"), f"{u!r} -> {canon}, {group}"
    for missing in (None, "None", "", "nan"): assert canonical_unit(missing) == ("none", "Others")


@pytest.mark.parametrize("name,pack,size,unit", [
    ("La Victoria Green Taco Sauce Mild, 12 Ounce (Pack of 6)", 6, 12, "ounce"),
    ("Salerno Cookies, The Original Butter Cookies, 8 Ounce (Pack of 4)", 4, 8, "ounce"),
    ("Bear Creek Hearty Soup Bowl, Creamy Chicken with Rice, 1.9 Ounce (Pack of 6)", 6, 1.9, "ounce"),
    ("Smuckers Natural Peanut Butter Chunky, 16 OZ (Pack of 12)", 12, 16, "ounce"),
    ("BODYARMOR LYTE Sports Drink, 28 Fl Oz (Pack of 12)", 12, 28, "fluid_ounce"),
    ("Albanese Assorted Gummi Bears, Sugar Free, 5-Pound Bags (Pack of 2)", 2, 5, "pound"),
    ("V8 Juice, 11.5-Ounce Bottles (Pack of 24)", 24, 11.5, "ounce"),
    ("Greek Gigantes Beans 280gr (6pack)", 6, 280, "gram"),
    ("Dream Soy Milk - Enriched Original - 32 oz - 3 pk", 3, 32, "ounce"),
    ("Chung Jung One O'Food Premium Anchovy Fish Sauce (Anchovy Sauce, 1kg)", 1, 1, "kilogram"),
    ("Coca-Cola Spiced 2 Liter", 1, 2, "liter"),
    ("Celestial Seasonings Herbal Tea, Red Zinger, 20 Count", 1, 20, "count"),
])
def test_real_item_names(name, pack, size, unit):
    q = extract_quantities(name)
    assert (q["pack_count"], q["unit_size"], q["size_unit"]) == (pack, size, unit), q
    assert math.isclose(q["total_qty"], q["pack_count"] * q["unit_size_base"])


def test_twelve_ounce_pack_of_six_is_72_oz():
    q = extract_quantities("La Victoria Green Taco Sauce Mild, 12 Ounce (Pack of 6)")
    assert q["qty_group"] == "mass" and math.isclose(q["total_qty"], 72 * 28.349523125, rel_tol=1e-9)


def test_twin_quantity_accuracy(twin):
    root, data, _ = twin
    oracle = pd.read_csv(data/"oracle.csv")
    qc = pd.concat([quantity_check(pd.read_parquet(root/"preprocessed"/f"{s}.parquet"), oracle) for s in ("train", "test")])
    assert len(qc) > 1800  # rows whose text states the whole quantity (a third of listings show their pack only in the photo)
    assert qc.ok.mean() >= 0.95, qc[~qc.ok].head()


def test_outputs_and_schema(twin):
    root, data, rep = twin
    pre = root/"preprocessed"
    tr, te = pd.read_parquet(pre/"train.parquet"), pd.read_parquet(pre/"test.parquet")
    assert (len(tr), len(te)) == (3000, 500)
    assert set(tr.columns) - set(te.columns) == {"price", "log_price", "fold"}
    for c in ["sample_id", "text", "image_link", "catalog_empty", "cat_unit_group", "cat_unit_canonical", "num_value",
              "num_base_qty", "num_log_base_qty", "num_pack_count", "num_unit_size_base", "num_total_qty_text",
              "num_qty_agree", "num_n_bullets", "num_text_len", "num_has_description"]:
        assert c in te.columns, c
    assert tr.sample_id.dtype == np.int64 and tr.catalog_empty.dtype == bool
    assert all(tr[c].dtype == np.float32 for c in tr if c.startswith("num_"))
    assert all(np.issubdtype(tr[c].dtype, np.integer) for c in tr if c.startswith("cat_"))
    assert np.allclose(tr.log_price, np.log1p(tr.price)) and set(tr.fold) == set(range(5))
    raw_tr, raw_te = load_challenge(data)
    assert (raw_tr.image_link.to_numpy() == tr.image_link.to_numpy()).all()
    assert tr.text.str.len().max() <= 1000
    mapping = json.loads((pre/"unit_mapping.json").read_text())
    assert mapping["groups"] == {g: i for i, g in enumerate(UNIT_GROUPS)}
    assert all(v["group"] != "Others" for k, v in mapping["raw"].items() if k not in ("None", ""))
    report = json.loads((pre/"report.json").read_text())
    assert report["target"]["log_price_min"] == pytest.approx(tr.log_price.min())
    assert report["target"]["log_price_max"] == pytest.approx(tr.log_price.max())
    assert sum(report["unit_group_counts"]["train"].values()) == 3000
    assert all(Path(f).exists() for f in report["figures"])


def test_folds_never_split_identical_catalogs(twin):
    root, data, _ = twin
    tr = pd.read_parquet(root/"preprocessed"/"train.parquet")
    raw = load_challenge(data)[0].set_index("sample_id").loc[tr.sample_id]
    assert raw.catalog_content.duplicated().sum() > 20  # the twin has text duplicates, so the check can fail
    assert fold_leaks(tr.fold.to_numpy(), raw.catalog_content) == 0
    sizes = np.bincount(tr.fold)
    assert sizes.max() - sizes.min() <= 25  # balanced up to the largest duplicate group


def test_folds_seeded(twin):
    root, data, _ = twin
    raw = load_challenge(data)[0]
    f1, f2, f3 = (make_folds(raw, 5, s) for s in (1, 1, 2))
    assert (f1 == f2).all() and (f1 != f3).mean() > 0.5
    # stratified: every fold's mean log-price is within 0.05 of the overall mean
    y = np.log1p(raw.price.to_numpy())
    assert max(abs(y[f1 == k].mean() - y.mean()) for k in range(5)) < 0.05


def test_ensure_preprocessed_builds_once(tmp_path, monkeypatch):
    import spam_llms.preprocess as pp
    pre = ensure_preprocessed(tmp_path, n_train=150, n_test=50, seed=1)
    assert pre == (tmp_path/"preprocessed").absolute() and (tmp_path/"data"/"oracle.csv").exists()
    monkeypatch.setattr(pp, "run_preprocess", lambda *a, **k: pytest.fail("rebuilt although train.parquet exists"))
    assert ensure_preprocessed(tmp_path, n_train=150, n_test=50, seed=1) == pre


def test_ensure_preprocessed_reads_a_given_data_dir(tmp_path):
    d = tmp_path/"mydata"; d.mkdir()
    pd.read_csv(REAL/"amazon2025_train_head132.csv").to_csv(d/"train.csv", index=False)
    pd.read_csv(REAL/"amazon2025_sample_test.csv").to_csv(d/"test.csv", index=False)
    pre = ensure_preprocessed(tmp_path/"run", data_dir=str(d))
    assert len(pd.read_parquet(pre/"train.parquet")) == 132 and not (tmp_path/"run"/"data").exists()


def test_hostile_catalogs_do_not_break_the_frame():
    df = pd.DataFrame({"sample_id": range(6), "image_link": ["x.jpg"] * 6, "catalog_content": [
        "", "Item Name: \nValue: \nUnit: \n", "no keys at all, 3 oz", "Item Name: A\r\nUnit: Furlongs\r\nValue: 1e400\r\n",
        "Item Name: B <script>x</script>\nProduct Description: " + "<p>long &amp; " * 5000 + "\nValue: 2\nUnit: oz\n",
        "Item Name: 🍪🍪 Cookies, 1/0 oz, Pack of 0\nValue: -\nUnit: ???\n"]})
    f = preprocess_frame(df, max_text_chars=200)
    from spam_llms.preprocess import _features
    assert _features(df, 200, False, 1, False)[1].has_name.tolist() == [False, False, False, True, True, True]  # parse failures
    assert len(f) == 6 and f.text.str.len().le(200).all()
    assert f.cat_unit_group.tolist()[:4] == [3, 3, 3, 3] and f.catalog_empty.tolist() == [True] + [False] * 5
    assert "🍪" not in f.text[5] and "<p>" not in f.text[4]


def test_long_catalog_value_with_unit_and_unknown_unit(tmp_path):
    "A 100,000-character catalog, Value written '1,000' or '12 oz', and a unit nobody knows: read, parsed, kept apart."
    long = "Item Name: Big Tea, 12 oz\nProduct Description: " + "steeped leaves " * 7000 + "\nValue: 1,000\nUnit: Count\n"
    rows = [(1, long, "a.jpg", 5.0), (2, "Item Name: Tea\nValue: 12 oz\nUnit: Ounce\n", "b.jpg", 3.0),
            (3, "Item Name: Rope\nValue: 3\nUnit: Furlongs\n", "c.jpg", 9.0), (4, "Item Name: Cup\nValue: 12 oz 3\nUnit: Ounce\n", "d.jpg", 2.0)]
    p = tmp_path/"train.csv"; pd.DataFrame(rows, columns=["sample_id", "catalog_content", "image_link", "price"]).to_csv(p, index=False)
    df = read_challenge_csv(p, "train")
    assert len(df.catalog_content[0]) > 100_000
    f = preprocess_frame(df, max_text_chars=1000)
    assert f.text.str.len().max() <= 1000 and f.text[0].startswith("Big Tea")
    assert f.num_value.tolist()[:3] == [1000.0, 12.0, 3.0] and math.isnan(f.num_value[3])  # '12 oz 3' is junk: NaN, has_value 0
    assert f.num_has_value.tolist() == [1, 1, 1, 0]
    assert [UNIT_GROUPS[i] for i in f.cat_unit_group] == ["count", "mass", "Others", "mass"]  # unknown unit: its own group


def test_name_head_codes_in_the_tables(twin):
    "cat_name_head: the brand proxy coded by train counts, in both tables, with its vocabulary in the report."
    root, data, rep = twin
    tr, te = (pd.read_parquet(root/"preprocessed"/f"{s}.parquet") for s in ("train", "test"))
    raw = pd.read_csv(data/"train.csv").set_index("sample_id").catalog_content
    first = raw.loc[tr.sample_id].str.extract(r"Item Name:\s*([^\W\d_]+)")[0].str.lower().to_numpy()
    counts = pd.Series(first).value_counts()
    assert ((tr.cat_name_head > 0).to_numpy() == (counts.loc[first].to_numpy() >= 3)).all()
    assert rep["name_heads"]["vocabulary"] == int((counts >= 3).sum()) and rep["name_heads"]["top"][0] == counts.index[0]
    assert te.cat_name_head.max() <= rep["name_heads"]["vocabulary"] and rep["name_heads"]["test_rows_coded"] > 0.4


def _grouped_frame(seed=0):
    "400 one-off catalogs and 6 catalogs listed 15 times each (near-equal prices), like the real file's repeats."
    rng = np.random.default_rng(seed)
    cat = [f"item {i}" for i in range(400)] + [f"big {j}" for j in range(6) for _ in range(15)]
    lp = np.r_[rng.normal(2.7, 0.9, 400), np.repeat(rng.normal(2.7, 0.9, 6), 15) + rng.normal(0, 0.1, 90)]
    return pd.DataFrame({"catalog_content": cat, "log_price": lp})


def test_folds_are_balanced_in_rows_and_in_price():
    df = _grouped_frame(); f = make_folds(df, 5, seed=1)
    sizes = np.bincount(f, minlength=5); assert sizes.max() - sizes.min() <= 3, sizes  # 490 rows: 98 +- 2, groups of 15 included
    strata = pd.crosstab(pd.qcut(df.log_price.rank(method="first"), 5, labels=False), f).to_numpy()
    assert strata.min() >= 14 and strata.max() <= 26, strata  # every price quintile in every fold, ~20 each
    assert df.assign(f=f).groupby("catalog_content").f.nunique().max() == 1 and fold_leaks(f, df.catalog_content) == 0


def test_folds_read_either_spelling_of_price_and_catalog():
    df = _grouped_frame(1); base = make_folds(df, 5, seed=3)
    assert (make_folds(pd.DataFrame({"price": np.expm1(df.log_price), "catalog_content": df.catalog_content}), 5, seed=3) == base).all()
    assert (make_folds(pd.DataFrame({"log_price": df.log_price, "text": df.catalog_content}), 5, seed=3) == base).all()
    assert (make_folds(df.assign(catalog_group=pd.factorize(df.catalog_content)[0]).drop(columns="catalog_content"), 5, seed=3) == base).all()


def test_as_many_catalogs_as_folds_is_enough_and_fewer_is_named():
    df = pd.DataFrame({"catalog_content": list("abcde") * 3, "log_price": np.linspace(1, 4, 15)})
    assert sorted(set(make_folds(df, 5, seed=0))) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="4 distinct catalogs cannot fill 5 folds; lower n_folds"): make_folds(df[df.catalog_content != "e"], 5)


def test_fold_leaks_counts_each_text_split_across_folds():
    assert fold_leaks([0, 1, 2, 0, 0], ["a", "a", "a", "b", "b"]) == 1  # "a" sits in three folds: one leaking text
    assert fold_leaks([0, 1, 1, 2], ["a", "a", "b", "b"]) == 2 and fold_leaks([3, 3, 1], ["a", "a", "b"]) == 0


def test_folds_of_the_real_rows_are_the_published_ones(real_dir):
    """The fold column is part of every published score: make_folds' defaults (K=5, seed 42, 10 price bins) and its
    order of groups must not drift. Pinned on the 132 real rows; a deliberate change updates this line and says so."""
    tr = pd.read_csv(real_dir/"amazon2025_train_head132.csv")
    got = "".join(map(str, make_folds(tr)))
    assert got == "343210130221222303023201231224240301302403242040444402034214033134110130313413400233104132242211414343041311004114401140023102342213"
