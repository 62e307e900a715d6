"End-to-end checks of spam_llms.refine: no leak into the nested gain (with a positive control), label invariance, real signal found, the stage's artifacts."
import numpy as np
import pandas as pd
import pytest
from spam_llms import refine, knn
from spam_llms.core import smape_log, save_preds, load_json, load_preds, RunPaths


def families(n=1500, m=200, fam=120, offset=0.5, seed=0):
    "Products in families; the base model knows each row's own signal but misses a per-family price offset."
    rng = np.random.default_rng(seed); N = n + m
    f = rng.integers(0, fam, N); v = (rng.normal(size=(fam, 24))[f] + rng.normal(0, 0.4, (N, 24))).astype(np.float32)
    base = rng.normal(3, 0.8, N); off = offset * rng.normal(size=fam)[f]
    y, pred = base + off + rng.normal(0, 0.15, N), base + rng.normal(0, 0.15, N)
    tr = pd.DataFrame({"sample_id": np.arange(n) + 100, "log_price": y[:n], "fold": np.arange(n) % 5})
    te = pd.DataFrame({"sample_id": np.arange(m) + 100_000})
    inp = {"train": tr, "test": te, "blocks_train": {"text": v[:n]}, "blocks_test": {"text": v[n:]},
           "has_image_train": np.ones(n, bool), "has_image_test": np.ones(m, bool)}
    return inp, pred[:n], pred[n:], y[n:]


def write_model(run_dir, name, inp, oof, test):
    tr, te = inp["train"], inp["test"]
    save_preds(pd.DataFrame({"sample_id": tr.sample_id, "pred": oof, "fold": tr.fold}), RunPaths(run_dir).stage(name)/"oof.parquet")
    save_preds(pd.DataFrame({"sample_id": te.sample_id, "pred": test}), RunPaths(run_dir).stage(name)/"test.parquet")


GRID = refine.parse_grid("1,5,20", "0.25,inf", "0,10", "0,0.25,0.5,1")


def leaky_oof_neighbours(vectors, folds, k, query_vectors=None, **kw):
    "A deliberately wrong search: every training row's neighbours come from all rows, itself first."
    idx = knn.build_index(vectors); s, i = knn.search(idx, vectors, k); ts, ti = knn.search(idx, query_vectors, k)
    return knn.OOFNeighbours(s, i, ts, ti)


def test_no_gain_on_noise_and_the_check_can_fail(tmp_path, monkeypatch):
    "Residuals are pure noise, so an honest refinement gains nothing; a leaky search shows a large fake gain."
    inp, oof, test, _ = families(offset=0.0)
    write_model(tmp_path, "base", inp, oof, test)
    honest, _ = refine.refine_stage(inp, tmp_path, ["base"], GRID, "text", 30)
    assert abs(honest.gain.iloc[0]) < 0.5, honest
    monkeypatch.setattr(refine, "oof_neighbours", leaky_oof_neighbours)   # positive control: the row sees its own residual
    leaky, _ = refine.refine_stage(inp, tmp_path, ["base"], GRID, "text", 30)
    assert leaky.gain.iloc[0] > 10, leaky


def test_refined_fold_never_depends_on_its_own_labels():
    inp, oof, test, _ = families(n=1000, m=100, offset=0.5)
    nb = refine.space_neighbours(inp, "text", 30)
    tr = inp["train"]; y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    adj, chosen = refine.nested_refine(nb, y, folds, oof, GRID)
    rng = np.random.default_rng(5)
    for f in range(5):
        y2 = y.copy(); y2[folds == f] = rng.normal(8, 3, (folds == f).sum())  # fold f's labels replaced by garbage
        adj2, chosen2 = refine.nested_refine(nb, y2, folds, oof, GRID)
        np.testing.assert_allclose(adj2[folds == f], adj[folds == f], rtol=0, atol=1e-12)
        assert {k: chosen2[f][k] for k in ("band_on", "band", "k", "lam", "alpha")} == {k: chosen[f][k] for k in ("band_on", "band", "k", "lam", "alpha")}
        assert not np.allclose(adj2[folds != f], adj[folds != f])            # the other folds do see them (the check is live)


def test_family_offsets_are_recovered_out_of_fold_and_on_test(tmp_path):
    inp, oof, test, y_test = families(offset=0.5)
    write_model(tmp_path, "base", inp, oof, test)
    summ, gains = refine.refine_stage(inp, tmp_path, ["base"], GRID, "text", 30)
    r = summ.iloc[0]
    assert r.gain > 5, summ                                  # nested OOF gain
    assert r.in_sample_after <= r.smape_after + 0.5          # in-sample is (about) the optimistic side
    o, t = refine.load_model(tmp_path, "base_refined", inp["train"].sample_id, inp["test"].sample_id, inp["train"].fold)
    assert smape_log(y_test, t) < smape_log(y_test, test) - 5   # the test correction helps on the known test truth
    m = load_json(tmp_path/"base_refined/metrics.json")
    assert m["base_model"] == "base" and len(m["fold_params"]) == 5 and m["oof_smape"] == pytest.approx(smape_log(inp["train"].log_price, o))
    assert list(gains.columns) == ["decile", "price_lo", "price_hi", "base"] and len(gains) == 10
    assert refine.discover_models(tmp_path) == ["base", "base_refined"] and refine.discover_models(tmp_path, refined=False) == ["base"]


def test_bad_model_outputs_are_named(tmp_path):
    inp, oof, test, _ = families(n=500, m=50)
    write_model(tmp_path, "short", {"train": inp["train"].iloc[:-3], "test": inp["test"]}, oof[:-3], test)
    with pytest.raises(ValueError, match=r"short/oof.parquet: no prediction for 3 sample_id\(s\), e.g. 597"):
        refine.refine_stage(inp, tmp_path, ["short"], GRID, "text", 10)
    with pytest.raises(ValueError, match="space 'image' is not an embedding block"):
        refine.refine_stage(inp, tmp_path, ["short"], GRID, "image", 10)
