"End-to-end checks of spam_llms.submit: the blend beats its members honestly, a fold's blend ignores its labels, the submission file is exactly what the challenge wants."
import numpy as np
import pandas as pd
import pytest
from spam_llms import submit
from spam_llms.core import smape_log, save_preds, load_json, RunPaths


def run_with_models(run_dir, n=2000, m=300, seed=0):
    "A run folder with four models of a known truth: two noisy, one biased by price level, one pure noise."
    rng = np.random.default_rng(seed); y = rng.normal(2.9, 0.8, n + m).clip(0.05)
    cols = {"noisy_a": y + rng.normal(0, 0.4, n + m), "noisy_b": y + rng.normal(0, 0.4, n + m),
            "shrunk": 0.5 * y + 0.5 * y.mean() + rng.normal(0, 0.2, n + m), "junk": rng.normal(2.9, 0.8, n + m)}
    tr = pd.DataFrame({"sample_id": np.arange(n) * 7 + 3, "log_price": y[:n], "fold": rng.permutation(np.arange(n) % 5)})
    te = pd.DataFrame({"sample_id": np.arange(m) * 7 + 100_000})
    for name, p in cols.items():
        save_preds(pd.DataFrame({"sample_id": tr.sample_id, "pred": p[:n], "fold": tr.fold}), RunPaths(run_dir).stage(name)/"oof.parquet")
        save_preds(pd.DataFrame({"sample_id": te.sample_id, "pred": p[n:]}), RunPaths(run_dir).stage(name)/"test.parquet")
    return tr, te, y[n:]


def test_blend_beats_every_model_out_of_fold_and_on_test(tmp_path):
    tr, te, y_test = run_with_models(tmp_path)
    m, table = submit.blend_stage(tr, te, tmp_path, submit.discover_models(tmp_path), te.sample_id)
    assert m["blend_oof_smape"] < min(m["models"].values()) - 2, m
    assert m["weights"]["junk"] < 0.05                                   # a useless model gets (almost) nothing
    assert set(m["models"]) == {"noisy_a", "noisy_b", "shrunk", "junk"} and m["mode"] in ("simplex", "affine")
    sub = pd.read_csv(tmp_path/"submission/submission.csv")
    best_test = min(smape_log(y_test, pd.read_parquet(tmp_path/n/"test.parquet").pred) for n in m["models"])
    assert smape_log(y_test, np.log1p(sub.price.to_numpy())) < best_test - 2
    assert load_json(tmp_path/"submission/metrics.json")["blend_oof_smape"] == pytest.approx(m["blend_oof_smape"])


def test_nested_blend_of_a_fold_ignores_its_labels():
    rng = np.random.default_rng(1); n = 1500; y = rng.normal(3, 0.7, n); folds = np.arange(n) % 5
    P = np.c_[y + rng.normal(0, 0.3, n), 0.7 * y + 1 + rng.normal(0, 0.2, n), rng.normal(3, 0.7, n)]
    for mode in ("simplex", "affine"):
        base, _ = submit.nested_blend(P, y, folds, mode)
        y2 = y.copy(); y2[folds == 2] = rng.normal(6, 2, (folds == 2).sum())
        moved, _ = submit.nested_blend(P, y2, folds, mode)
        np.testing.assert_allclose(moved[folds == 2], base[folds == 2], rtol=0, atol=1e-12)
        assert not np.allclose(moved[folds != 2], base[folds != 2])      # the other folds do see them (the check is live)
        # in-sample weights on the same labels score better than the nested estimate: the nested figure is the honest one
        w, b = submit.fit_blend(P, y, mode)
        assert smape_log(y, submit.blend_predict(P, w, b)) <= smape_log(y, base) + 1e-9


def test_submission_file_is_exactly_the_challenge_format(tmp_path):
    tr, te, _ = run_with_models(tmp_path, n=500, m=120)
    submit.blend_stage(tr, te, tmp_path, ["noisy_a", "shrunk"], te.sample_id)
    path = tmp_path/"submission/submission.csv"
    lines = path.read_text().splitlines()
    assert lines[0] == "sample_id,price" and len(lines) == 1 + len(te)
    sub = pd.read_csv(path)
    assert sorted(sub.sample_id) == sorted(te.sample_id) and np.isfinite(sub.price).all() and (sub.price > 0).all()
    assert not list(tmp_path.joinpath("submission").glob(".*.tmp"))        # no temp file left behind


def test_unusable_inputs_stop_with_a_clear_message(tmp_path):
    tr, te, _ = run_with_models(tmp_path, n=500, m=120)
    (tmp_path/"submission").mkdir(exist_ok=True)
    with pytest.raises(ValueError, match=r"submission: 1 test sample_id\(s\) have no row, e.g. 42"):
        submit.blend_stage(tr, te, tmp_path, ["noisy_a"], np.r_[te.sample_id, 42])
    assert not (tmp_path/"submission/submission.csv").exists()
    with pytest.raises(ValueError, match=r"test.parquet: no prediction for 1 sample_id\(s\), e.g. 7"):
        submit.blend_stage(tr, pd.concat([te, pd.DataFrame({"sample_id": [7]})]), tmp_path, ["noisy_a"], te.sample_id)
    with pytest.raises(ValueError, match="no model folder"):
        submit.blend_stage(tr, te, tmp_path/"empty", [], te.sample_id)


def _truth_file(path, ids, prices):
    pd.DataFrame({"sample_id": ids, "price": prices}).to_csv(path, index=False); return path


def test_truth_scores_every_model_and_the_blend(tmp_path):
    tr, te, y_test = run_with_models(tmp_path)
    truth = submit.read_truth(_truth_file(tmp_path/"test_truth.csv", te.sample_id[::-1], np.expm1(y_test[::-1])), te.sample_id)
    m, table = submit.blend_stage(tr, te, tmp_path, submit.discover_models(tmp_path), te.sample_id, truth=truth)
    for n in m["models"]:  # each model's test SMAPE, recomputed here from its own file
        assert m["test_smape"][n] == pytest.approx(smape_log(y_test, pd.read_parquet(tmp_path/n/"test.parquet").pred))
    sub = pd.read_csv(tmp_path/"submission/submission.csv")
    assert m["blend_test_smape"] == pytest.approx(smape_log(y_test, np.log1p(sub.price.to_numpy())), abs=1e-4)
    assert m["blend_test_smape"] < min(m["test_smape"].values())
    assert table.set_index("model").test_smape["junk"] == pytest.approx(m["test_smape"]["junk"])
    m0, table0 = submit.blend_stage(tr, te, tmp_path, submit.discover_models(tmp_path), te.sample_id)  # no truth: nothing about test
    assert "test_smape" not in m0 and "blend_test_smape" not in m0 and "test_smape" not in table0.columns


@pytest.mark.parametrize("ids_change,message", [(lambda ids: ids[:-1], "have no true price, e.g."),
                                               (lambda ids: np.r_[ids, 99], "are not in test.csv, e.g. 99"),
                                               (lambda ids: np.r_[ids, ids[0]], "appears more than once")])
def test_truth_with_wrong_ids_is_refused(tmp_path, ids_change, message):
    _, te, y_test = run_with_models(tmp_path, n=300, m=50)
    ids = ids_change(te.sample_id.to_numpy()); prices = np.resize(np.expm1(y_test), len(ids))
    with pytest.raises(ValueError, match=message): submit.read_truth(_truth_file(tmp_path/"t.csv", ids, prices), te.sample_id)


def test_calibration_is_nested_and_helps_only_when_it_can(tmp_path):
    tr, te, _ = run_with_models(tmp_path)
    y, folds = tr.log_price.to_numpy(), tr.fold.to_numpy()
    p = y + np.random.default_rng(3).normal(0, 0.35, len(y)) + 0.2   # a blend 22% too high everywhere
    cal = submit.calibrate(y, p, folds)
    assert cal["applied"] and cal["gain"] > 1 and cal["shift"] == pytest.approx(-0.2, abs=0.06)
    y2 = y.copy(); y2[folds == 3] += 2.0                              # fold 3's labels move: its shift must not
    assert submit.calibrate(y2, p, folds)["fold_shifts"][3] == cal["fold_shifts"][3]
    assert submit.calibrate(y2, p, folds)["fold_shifts"][0] != cal["fold_shifts"][0]  # the others see them (the check is live)
    centred = submit.calibrate(y, y + np.random.default_rng(4).normal(0, 0.35, len(y)), folds)
    assert abs(centred["gain"]) < 0.2 and (centred["applied"] or centred["shift"] == 0.0)


def overshooting_models(real_dir, seed=0):
    "Real log prices (132 rows) and two models: `over` is exact except on the 20 dearest rows, where it overshoots the training range by 5 log units; `noisy` is the truth plus noise."
    tr = pd.read_csv(real_dir/"amazon2025_train_head132.csv"); y = np.log1p(tr.price.to_numpy(np.float64))
    rng = np.random.default_rng(seed); top = np.argsort(y)[-20:]
    over = y.copy(); over[top] += 5.0
    P = np.c_[over, y + rng.normal(0, 0.2, len(y))]; folds = np.arange(len(y)) % 5
    return y, P, folds, top


def test_blend_fit_scores_clipped_predictions(real_dir):
    "The objective clips as predictions are clipped: `over` then beats `noisy` (SMAPE 16.6 vs 17.4) and takes all the weight; an unclipped objective picks `noisy`."
    y, P, folds, _ = overshooting_models(real_dir)
    for mode in ("simplex", "affine"):
        w, b = submit.fit_blend(P, y, mode)
        clipped = lambda w, b: smape_log(y, submit.blend_predict(P, w, b, y.min(), y.max()))
        assert clipped(w, b) <= clipped(np.array([1.0, 0.0]), 0.0) + 1e-6, (mode, w, b)
    assert submit.fit_blend(P, y, "simplex")[0][0] > 0.99


def test_nested_oof_and_test_predictions_stay_in_the_training_range(real_dir):
    "Every nested OOF prediction lies in the range of the rows its blend was fit on; every test prediction in the training range."
    y, P, folds, top = overshooting_models(real_dir)
    oof, _ = submit.nested_blend(P, y, folds, "simplex")
    for f in np.unique(folds):
        fit = folds != f
        assert y[fit].min() <= oof[~fit].min() and oof[~fit].max() <= y[fit].max(), f
    T = np.r_[P[:5], [[40.0, 40.0], [-9.0, -9.0]]]  # test rows far outside the training range
    r = submit.choose_blend(P, y, folds, T, "auto")
    assert r["test"].max() == pytest.approx(y.max()) and r["test"].min() == pytest.approx(y.min())
    assert y.min() <= r["oof"].min() and r["oof"].max() <= y.max()


def test_intervals_in_metrics_leave_the_submission_alone(tmp_path):
    "metrics.json carries 95% bootstrap intervals of every score (OOF, and test with a truth file); the submission is the same with or without them."
    tr, te, y_test = run_with_models(tmp_path)
    truth = submit.read_truth(_truth_file(tmp_path/"test_truth.csv", te.sample_id, np.expm1(y_test)), te.sample_id)
    m, _ = submit.blend_stage(tr, te, tmp_path, submit.discover_models(tmp_path), te.sample_id, truth=truth, n_boot=300)
    with_iv = (tmp_path/"submission/submission.csv").read_bytes()
    iv = load_json(tmp_path/"submission/metrics.json")["intervals"]
    assert iv["oof"]["scores"]["blend"]["value"] == pytest.approx(m["blend_oof_smape"]) and iv["test"]["scores"]["blend"]["value"] == pytest.approx(m["blend_test_smape"])
    for part, ref in [("oof", m["models"]), ("test", m["test_smape"])]:
        for n, v in ref.items(): s = iv[part]["scores"][n]; assert s["lo"] < v < s["hi"] and s["value"] == pytest.approx(v), (part, n)
    assert set(iv["oof"]["diffs"]) == {"blend - noisy_a", "blend - noisy_b", "blend - shrunk"} and iv["oof"]["diffs"]["blend - shrunk"]["hi"] < 0
    m0, _ = submit.blend_stage(tr, te, tmp_path, submit.discover_models(tmp_path), te.sample_id, truth=truth, n_boot=0)
    assert "intervals" not in m0 and (tmp_path/"submission/submission.csv").read_bytes() == with_iv


def _shifted_models(n=1200, seed=3):
    "Three models of a known truth: one scaled down and shifted (an affine blend undoes it), one noisy, one anti-correlated noise."
    rng = np.random.default_rng(seed); y = rng.normal(2.9, 0.8, n); e = rng.normal(0, 0.3, n)
    P = np.c_[0.5 * y + 1.45 + rng.normal(0, 0.05, n), y + e, y - 0.8 * e + rng.normal(0, 0.2, n)]
    return P, y, np.arange(n) % 5


def test_simplex_fit_is_the_best_point_of_the_simplex():
    "fit_blend's simplex weights are non-negative, sum to 1, and score no worse than a 2%-grid search of the simplex."
    P, y, _ = _shifted_models(); w, b = submit.fit_blend(P, y, "simplex")
    assert b == 0.0 and (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
    grid = [np.array([a, c, 1 - a - c]) for a in np.arange(0, 1.0001, 0.02) for c in np.arange(0, 1.0001 - a, 0.02)]
    best = min(smape_log(y, submit.blend_predict(P, g, 0.0, y.min(), y.max())) for g in grid)
    assert smape_log(y, submit.blend_predict(P, w, 0.0, y.min(), y.max())) <= best + 1e-3


def test_affine_fit_uses_its_intercept_and_nested_blends_keep_their_mode():
    "The affine form fits an intercept and free weights (it undoes 0.5 y + 1.45); nested and chosen blends keep the form they fit."
    P, y, folds = _shifted_models()
    w, b = submit.fit_blend(P[:, :1], y, "affine")
    assert w[0] == pytest.approx(2.0, rel=0.05) and b == pytest.approx(-2.9, abs=0.15)
    out, fits = submit.nested_blend(P[:, :1], y, folds, "affine")
    assert [set(f) for f in fits] == [{"fold", "weights", "intercept"}] * 5 and [f["fold"] for f in fits] == [0, 1, 2, 3, 4]
    assert all(f["weights"][0] > 1.5 and f["intercept"] < -2 for f in fits)
    assert smape_log(y, out) < smape_log(y, submit.nested_blend(P[:, :1], y, folds, "simplex")[0]) - 5
    c = submit.choose_blend(P[:, :1], y, folds, P[:10, :1])
    assert c["mode"] == min(c["nested_smape_by_mode"], key=c["nested_smape_by_mode"].get) == "affine" and c["intercept"] < -2
    assert c["in_sample_smape"] == pytest.approx(smape_log(y, submit.blend_predict(P[:, :1], c["weights"], c["intercept"], y.min(), y.max())))
    s = submit.choose_blend(P[:, 1:], y, folds, P[:10, 1:], mode="simplex")
    assert s["mode"] == "simplex" and s["intercept"] == 0.0 and list(s["nested_smape_by_mode"]) == ["simplex"]


def test_blend_predict_in_float64_with_no_intercept_by_default():
    P, y, _ = _shifted_models(50); w = np.array([0.2, 0.5, 0.3])
    np.testing.assert_array_equal(submit.blend_predict(P, w), P @ w)
    assert (submit.blend_predict(P.astype(np.float32), w.astype(np.float32)) == submit.blend_predict(P.astype(np.float32).astype(float), w.astype(np.float32).astype(float))).all()
    with pytest.raises(ValueError, match="blend mode must be 'simplex' or 'affine', got 'mean'"): submit.fit_blend(P, y, "mean")


def test_the_stage_blends_its_mode_calibrates_by_default_and_keeps_copies_at_zero(tmp_path):
    "blend_stage passes its mode on, calibrates a biased blend unless told not to, gives a model's identical copy weight 0."
    tr, te, y_test = run_with_models(tmp_path, n=800, m=100)
    for n in ("noisy_a", "noisy_b"):  # both models read 0.3 too high: a global shift the calibration removes
        for split in ("oof", "test"):
            f = tmp_path/n/f"{split}.parquet"; d = pd.read_parquet(f); d["pred"] += 0.3; save_preds(d, f)
    import shutil; shutil.copytree(tmp_path/"noisy_a", tmp_path/"copy_a")
    names = ["noisy_a", "copy_a", "noisy_b"]
    m, table = submit.blend_stage(tr, te, tmp_path, names, te.sample_id, mode="simplex")
    assert m["mode"] == "simplex" and list(m["nested_smape_by_mode"]) == ["simplex"]
    assert m["identical"] == {"copy_a": "noisy_a"} and m["weights"]["copy_a"] == 0.0 and set(m["weights"]) == set(names)
    assert m["calibration"]["applied"] and m["calibration"]["shift"] == pytest.approx(-0.3, abs=0.08)
    assert m["blend_oof_smape"] < m["blend_oof_smape_uncalibrated"] - 2
    oof = pd.read_parquet(tmp_path/"submission/blend_oof.parquet"); tst = pd.read_parquet(tmp_path/"submission/blend_test.parquet")
    assert smape_log(tr.log_price, oof.pred) == pytest.approx(m["blend_oof_smape"]) and (oof.fold.to_numpy() == tr.fold.to_numpy()).all()
    sub = pd.read_csv(tmp_path/"submission/submission.csv")
    np.testing.assert_allclose(np.log1p(sub.price), tst.pred, atol=1e-6)
    assert (m["n_train"], m["n_test"]) == (800, 100) and m["submission"].endswith("submission/submission.csv")
    assert m["best_single"] == {"model": min(m["models"], key=m["models"].get), "oof_smape": min(m["models"].values())}
    assert list(pd.read_csv(tmp_path/"submission/models.csv").columns) == list(table.columns)
    truth = submit.read_truth(_truth_file(tmp_path/"test_truth.csv", te.sample_id, np.expm1(y_test)), te.sample_id)
    mt, _ = submit.blend_stage(tr, te, tmp_path, names, te.sample_id, mode="simplex", truth=truth)  # the test score is the submission's
    sub = pd.read_csv(tmp_path/"submission/submission.csv")
    assert mt["blend_test_smape"] == pytest.approx(smape_log(y_test, np.log1p(sub.price.to_numpy())), abs=1e-4)
    assert mt["blend_test_smape"] == mt["blend_test_smape_calibrated"] < mt["blend_test_smape_uncalibrated"]
    m0, _ = submit.blend_stage(tr, te, tmp_path, names, te.sample_id, mode="simplex", calibration=False)
    assert m0["calibration"] is None and m0["blend_oof_smape"] == m0["blend_oof_smape_uncalibrated"] == pytest.approx(m["blend_oof_smape_uncalibrated"])


def test_intervals_are_seeded_and_a_model_on_other_folds_is_refused(tmp_path):
    tr, te, y_test = run_with_models(tmp_path, n=500, m=120)
    runs = [submit.blend_stage(tr, te, tmp_path, ["noisy_a", "shrunk"], te.sample_id, n_boot=200, seed=s)[0]["intervals"] for s in (1, 1, 2)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    f = tmp_path/"shrunk/oof.parquet"; d = pd.read_parquet(f); d["fold"] = (d.fold + 1) % 5; save_preds(d, f)
    with pytest.raises(ValueError, match="fold"): submit.blend_stage(tr, te, tmp_path, ["noisy_a", "shrunk"], te.sample_id)


@pytest.mark.parametrize("change,message", [
    (lambda s: s[["price", "sample_id"]], r"columns must be exactly \['sample_id', 'price'\] in that order, got \['price', 'sample_id'\]"),
    (lambda s: pd.concat([s, s.iloc[[3]]]), r"sample_id 1003 appears 2 times \(1 duplicate row\(s\)\)"),
    (lambda s: pd.concat([s, pd.DataFrame({"sample_id": [77], "price": [1.0]})]), r"1 sample_id\(s\) are not in test.csv, e.g. 77"),
    (lambda s: s.iloc[1:], r"1 test sample_id\(s\) have no row, e.g. 1000"),
    (lambda s: s.assign(price=s.price.where(s.index != 4, 0.0)), r"row 5 \(sample_id 1004\): price=0.0 must be a finite number > 0 \(1 bad row\(s\)\)"),
    (lambda s: s.assign(price=s.price.where(s.index != 1, np.nan)), r"row 2 \(sample_id 1001\): price=nan"),
    (lambda s: s.assign(price=s.price.where(s.index != 1, np.inf)), r"row 2 \(sample_id 1001\): price=inf"),
])
def test_each_bad_submission_is_named(change, message):
    ids = np.arange(1000, 1010); sub = pd.DataFrame({"sample_id": ids, "price": np.linspace(0.5, 30, 10)})
    assert submit.validate_submission(sub, ids) is sub  # prices under one dollar are prices
    with pytest.raises(ValueError, match=message): submit.validate_submission(change(sub), ids)


def test_prices_are_written_with_six_decimals_and_no_index(tmp_path):
    ids = np.arange(5); p = submit.write_submission(pd.DataFrame({"sample_id": ids, "price": [1 / 3, 2.0, 10.123456789, 0.5, 7]}), tmp_path/"s.csv", ids)
    assert p.read_text().splitlines() == ["sample_id,price", "0,0.333333", "1,2.000000", "2,10.123457", "3,0.500000", "4,7.000000"]


def test_blend_fit_scores_predictions_clipped_from_below(real_dir):
    "The mirror case: `under` is exact except on the 20 cheapest rows, where it falls 3 log units under the range; clipped, it wins."
    tr = pd.read_csv(real_dir/"amazon2025_train_head132.csv"); y = np.log1p(tr.price.to_numpy(np.float64))
    rng = np.random.default_rng(0); low = np.argsort(y)[:20]; under = y.copy(); under[low] -= 3.0
    P = np.c_[under, y + rng.normal(0, 0.2, len(y))]
    clipped = lambda w, b: smape_log(y, submit.blend_predict(P, w, b, y.min(), y.max()))
    assert clipped(np.array([1.0, 0.0]), 0.0) < clipped(np.array([0.0, 1.0]), 0.0)  # the fixture: clipped, `under` is the better model
    w, b = submit.fit_blend(P, y, "simplex")
    assert w[0] > 0.99 and clipped(w, b) <= clipped(np.array([1.0, 0.0]), 0.0) + 1e-6, w


def test_auto_picks_the_form_with_the_lower_nested_score():
    "With few rows and unbiased models the affine form overfits: auto must pick simplex by score, not by name."
    rng = np.random.default_rng(5); n = 60; y = rng.normal(2.9, 0.8, n)
    P = np.c_[y + rng.normal(0, 0.5, n), y + rng.normal(0, 0.5, n), y + rng.normal(0, 0.5, n)]
    c = submit.choose_blend(P, y, np.arange(n) % 5, P[:5])
    s = c["nested_smape_by_mode"]; assert s["simplex"] < s["affine"], s
    assert c["mode"] == "simplex" and c["intercept"] == 0.0
