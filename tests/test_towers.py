"End-to-end checks of the tower models (03_towers_cv): determinism, signal use, losses, fusion, artifacts."
import json
import numpy as np
import pandas as pd
import pytest
import torch

from spam_llms.core import smape_log
from spam_llms.testing import make_toy_inputs
from spam_llms.upstream import ensure_upstream
from spam_llms.towers import (LOSSES, TowerRegressor, TowersParams, ablation, ablation_grid, fit_scaler, fit_towers, load_fold_checkpoint,
                              predict_log, scale_inputs, subset)

SMALL = TowersParams.smoke(tower_dim=32, head_dims=[32], epochs=10, batch_size=64, lr=3e-3, patience=4, dropout=0.1, device="cpu", n_threads=1)
Q = dict(progress=False)


@pytest.fixture(scope="module")
def toy():
    return make_toy_inputs(600, 100, seed=11)


def test_same_seed_identical_oof_and_test(toy, tmp_path):
    tr, te = toy
    a = fit_towers(tr, te, SMALL.but(seed=7), tmp_path/"a", **Q)
    b = fit_towers(tr, te, SMALL.but(seed=7), tmp_path/"b", **Q)
    c = fit_towers(tr, te, SMALL.but(seed=8), None, **Q)
    oa, ob = pd.read_parquet(tmp_path/"a/oof.parquet"), pd.read_parquet(tmp_path/"b/oof.parquet")
    pd.testing.assert_frame_equal(oa, ob)  # bit-identical OOF predictions
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path/"a/test.parquet"), pd.read_parquet(tmp_path/"b/test.parquet"))
    assert not np.array_equal(a["oof"], c["oof"])  # and the seed does matter


def test_full_model_beats_text_only_and_baseline(toy):
    tr, te = toy
    full = fit_towers(tr, te, SMALL, None, **Q)
    text = fit_towers(subset(tr, ("text",)), subset(te, ("text",)), SMALL, None, **Q)
    median = smape_log(tr.y, np.full(len(tr), np.median(tr.y)))
    assert full["oof_smape"] < 0.8 * text["oof_smape"] < 0.8 * median


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_learns(toy, loss):
    tr, te = toy
    m = fit_towers(tr, te, SMALL.but(loss=loss), None, **Q)
    assert np.isfinite(m["oof"]).all() and np.isfinite(m["test"]).all()
    assert m["oof_smape"] < 0.6 * smape_log(tr.y, np.full(len(tr), np.median(tr.y))), (loss, m["oof_smape"])
    if loss == "minmax_bce":  # predictions stay inside the training range of log1p price
        assert m["oof"].min() >= tr.y.min() - 1e-4 and m["oof"].max() <= tr.y.max() + 1e-4


def test_xattn_fusion_learns(toy):
    tr, te = toy
    m = fit_towers(tr, te, SMALL.but(fusion="xattn"), None, **Q)
    assert m["model"].fusion_name == "xattn" and m["oof_smape"] < 0.6 * smape_log(tr.y, np.full(len(tr), np.median(tr.y)))


def test_artifacts_and_checkpoints(toy, tmp_path):
    tr, te = toy
    m = fit_towers(tr, te, SMALL, tmp_path/"towers", **Q)
    metrics = json.loads((tmp_path/"towers/metrics.json").read_text())
    for k in ("oof_smape", "fold_smape", "n_params", "train_seconds_per_fold", "head_latency_us_per_sample"): assert k in metrics
    assert len(metrics["fold_smape"]) == 5 and metrics["n_params"] == m["model"].n_params
    oof = pd.read_parquet(tmp_path/"towers/oof.parquet")
    assert list(oof.columns) == ["sample_id", "pred", "fold"] and oof.sample_id.is_monotonic_increasing
    assert set(oof.sample_id) == set(tr.sample_id)
    # every OOF row was predicted by the model that did not see it: reload that fold and recompute
    for k in range(5):
        model, loss, stats = load_fold_checkpoint(tmp_path/f"towers/fold{k}.safetensors")
        rows = np.flatnonzero(tr.fold == k)
        pred = predict_log(model, loss, scale_inputs(tr, stats, rows))
        got = oof.set_index("sample_id").loc[tr.sample_id[rows], "pred"].to_numpy()
        np.testing.assert_allclose(pred, got, rtol=0, atol=1e-6)


def test_scaler_ignores_held_out_rows(toy):
    tr, _ = toy
    rows = np.flatnonzero(tr.fold != 0)
    a = fit_scaler(tr, rows)
    tr2 = make_toy_inputs(600, 100, seed=11)[0]
    for b in tr2.blocks.values(): b[tr2.fold == 0] *= 100  # wildly different held-out rows
    tr2.num[tr2.fold == 0] = 1e6
    b = fit_scaler(tr2, rows)
    for k in a: np.testing.assert_array_equal(a[k][0], b[k][0]); np.testing.assert_array_equal(a[k][1], b[k][1])


def test_reference_shape_parameter_count():
    m = TowerRegressor({"text": 384, "image": 1280, "joint_text": 512, "joint_image": 512})
    towers = sum(d * 512 + 512 + 2 * 512 for d in (384, 1280, 512, 512))
    head = 2048 * 1024 + 1024 + 1024 * 256 + 256 + 256 + 1
    assert m.n_params == towers + head


def test_ablation_table(toy, tmp_path):
    tr, te = toy
    grid = ablation_grid(("text", "image", "tab"), losses=("mse_log", "l1_log"), fusions=("xattn",))
    df = ablation(tr, te, grid, SMALL, tmp_path/"ablation.csv", **Q)
    assert pd.read_csv(tmp_path/"ablation.csv").shape[0] == len(grid) == len(df)
    s = df.set_index("setting").oof_smape
    assert s["all blocks"] < s["text only"] and s["all blocks"] == s["mse_log"]


def test_run_towers_cv_on_the_twin(tmp_path):
    from spam_llms.towers import run_towers_cv
    ensure_upstream(tmp_path, "03_towers_cv", n_train=300, n_test=60)
    m = run_towers_cv(TowersParams.smoke(run_dir=str(tmp_path), n_train=300, n_test=60, tower_dim=32, head_dims=[32], epochs=4, batch_size=64,
                                         dropout=0.1, patience=5, device="cpu", n_threads=1), progress=False)
    out = tmp_path/"towers"
    for f in ("oof.parquet", "test.parquet", "metrics.json", "params.json", "fold0.safetensors"): assert (out/f).exists(), f
    pre = pd.read_parquet(tmp_path/"preprocessed/train.parquet")
    oof = pd.read_parquet(out/"oof.parquet")
    assert len(oof) == len(pre) and set(oof.sample_id) == set(pre.sample_id)
    assert m["oracle_smape"] is not None and 0 < m["oracle_smape"] < m["oof_smape"]
    assert "text" in m["blocks"] and "image" in m["blocks"] and "tab" in m["blocks"]
    assert m["oof_smape"] < smape_log(pre.log_price, np.full(len(pre), np.median(pre.log_price)))


def test_real_rows_without_images_leave_the_image_tower_out(tmp_path, real_dir, capsys):
    "Offline, real rows have no image: the image block (all empty vectors) is not given a tower, and the run says so."
    import shutil
    from spam_llms.towers import run_towers_cv
    d = tmp_path/"data"; d.mkdir()
    shutil.copy(real_dir/"amazon2025_train_head132.csv", d/"train.csv"); shutil.copy(real_dir/"amazon2025_sample_test.csv", d/"test.csv")
    ensure_upstream(tmp_path/"run", "03_towers_cv", str(d))
    m = run_towers_cv(TowersParams.smoke(run_dir=str(tmp_path/"run"), data_dir=str(d), tower_dim=16, head_dims=[16], epochs=2, batch_size=32,
                                         dropout=0.1, patience=5, device="cpu", n_threads=1), progress=False)
    assert m["blocks"] == ["text", "tab"] and "image" in m["blocks_missing"], (m["blocks"], m["blocks_missing"])
    assert "image blocks ['image'] are not used" in capsys.readouterr().out
    assert len(pd.read_parquet(tmp_path/"run"/"towers"/"oof.parquet")) == 132


def test_cross_validate_wires_each_fold_to_its_own_model_scaler_and_seed(toy, tmp_path, monkeypatch):
    "OOF and test rows are what each fold's saved model predicts on inputs scaled by that fold's statistics; fold k trains on the other folds with seed + k."
    from spam_llms import towers
    import dataclasses
    tr, te = toy; ks, calls, train = sorted(np.unique(tr.fold)), [], towers.train_fold
    te = dataclasses.replace(te, cat=te.cat.copy()); te.cat[0, 0] = 9   # a category code only the test rows hold still gets an embedding row
    def spy(xtr, ytr, xva, yva, kw, seed, **k): calls.append((seed, xtr, np.asarray(ytr), xva, np.asarray(yva), k)); return train(xtr, ytr, xva, yva, kw, seed=seed, **k)
    monkeypatch.setattr(towers, "train_fold", spy)
    devices, predict = [], towers.predict_log   # every prediction runs where the model was trained ("cpu:0" is not the default "cpu")
    monkeypatch.setattr(towers, "predict_log", lambda *a, device="cpu", **k: devices.append(device) or predict(*a, device=device, **k))
    reported = []
    r = towers.cross_validate(tr, te, dict(tower_dim=16, head_dims=[16]), seed=7, device="cpu:0", ckpt_dir=tmp_path, progress=False,
                              on_fold=lambda k, s: reported.append((k, s)), epochs=3, batch_size=64, loss="l1_log")
    assert [c[0] for c in calls] == [7 + k for k in ks] and all(c[5] == dict(device="cpu:0", epochs=3, batch_size=64, loss="l1_log") for c in calls)
    assert len(devices) > 2 * len(ks) and set(devices) == {"cpu:0"}
    test = np.zeros(len(te))
    for k in ks:
        model, loss, st = towers.load_fold_checkpoint(tmp_path/f"fold{k}.safetensors")
        own = fit_scaler(tr, np.flatnonzero(tr.fold != k))   # the fold's scaler: its training rows only
        assert st.keys() == own.keys() and all(np.allclose(st[b][0], own[b][0]) and np.allclose(st[b][1], own[b][1]) for b in own)
        va, (_, xtr, ytr, xva, yva, _) = np.flatnonzero(tr.fold == k), calls[ks.index(k)]   # the fit saw the other folds' rows, scaled, aligned with their prices
        np.testing.assert_array_equal(ytr, tr.y[tr.fold != k]); np.testing.assert_array_equal(yva, tr.y[va])
        for x, rows in ((xtr, np.flatnonzero(tr.fold != k)), (xva, va)):
            want = scale_inputs(tr, st, rows); assert x.keys() == want.keys() and all(torch.allclose(x[b], want[b], equal_nan=True) for b in want)
        np.testing.assert_allclose(r["oof"][va], predict_log(model, loss, scale_inputs(tr, st, va)), rtol=1e-5)
        test += predict_log(model, loss, scale_inputs(te, st)) / len(ks)
    np.testing.assert_allclose(r["test"], test, rtol=1e-5)
    assert r["fold_smape"] == [smape_log(tr.y[tr.fold == k], r["oof"][tr.fold == k]) for k in ks] and reported == list(zip(ks, r["fold_smape"]))
    assert r["oof_smape"] == smape_log(tr.y, r["oof"]) and len(r["best_epochs"]) == len(r["seconds"]) == len(ks)
    assert r["n_params"] == r["model"].n_params == sum(t.numel() for t in r["model"].parameters())
    assert r["model_kw"] == dict(tower_dim=16, head_dims=[16], block_dims={"text": 32, "image": 48}, n_num=4, cat_cardinalities=[11])
    tr_hi = dataclasses.replace(tr, cat=tr.cat.copy()); tr_hi.cat[0, 0] = 12   # the cardinality covers the training codes too (here the larger)
    assert towers.cross_validate(tr_hi, te, dict(tower_dim=16, head_dims=[16]), progress=False, epochs=1)["model_kw"]["cat_cardinalities"] == [14]
    no_tab = towers.cross_validate(tr, None, dict(tower_dim=16, head_dims=[16]), use_tab=False, progress=False, epochs=1)
    assert no_tab["model_kw"]["n_num"] == 0 and no_tab["model_kw"]["cat_cardinalities"] == [] and len(no_tab["test"]) == 0
    for bad in (te, dataclasses.replace(tr, fold=None), dataclasses.replace(tr, y=None)):
        with pytest.raises(ValueError, match=r"^cross_validate: the training table needs `y` and `fold`$"): towers.cross_validate(bad, None)
