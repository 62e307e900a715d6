"Checks of spam_llms.runio's shared CV loop on the real rows: which rows each fold's fit gets, what comes back, how bad fold columns are named."
import numpy as np
import pytest
from spam_llms.core import smape_log
from spam_llms.runio import cv_predict


def test_cv_predict_gives_each_fold_the_other_folds_and_averages_the_test(real_rows):
    "A fit that predicts its training rows' mean: OOF rows get the other folds' mean, the test the folds' average; any fold labels work."
    tr, te = real_rows; y = tr.log_price.to_numpy(); folds = tr.fold.to_numpy() * 2 + 3   # labels 3, 5, 7, 9, 11
    ks, seen, reported = [3, 5, 7, 9, 11], [], []
    def fit(k, rows, valid):
        seen.append((k, rows, valid)); return np.full(len(valid), y[rows].mean()), np.full(len(te), float(k))
    oof, test, scores = cv_predict(fit, list(y), folds, len(te), on_fold=lambda k, s: reported.append((k, s)))
    assert [k for k, _, _ in seen] == ks
    for k, rows, valid in seen:
        np.testing.assert_array_equal(rows, np.flatnonzero(folds != k)); np.testing.assert_array_equal(valid, np.flatnonzero(folds == k))
        np.testing.assert_array_equal(oof[folds == k], y[folds != k].mean())
    np.testing.assert_allclose(test, np.full(len(te), np.mean(ks)))
    assert scores == [smape_log(y[folds == k], oof[folds == k]) for k in ks] and reported == list(zip(ks, scores))


def test_cv_predict_names_a_bad_fold_column(real_rows):
    tr, _ = real_rows; y = tr.log_price.to_numpy(); fit = lambda k, rows, valid: (np.zeros(len(valid)), np.zeros(1))
    gaps = tr.fold.to_numpy(float); gaps[7] = np.nan
    with pytest.raises(ValueError, match=r"^cv_predict: the fold column has missing values; rerun preprocessing \(01\)$"): cv_predict(fit, y, gaps, 1)
    with pytest.raises(ValueError, match=r"^cv_predict: need at least 2 folds, the fold column holds \[4\]$"): cv_predict(fit, y, np.full(len(y), 4), 1)
    oof, _, scores = cv_predict(fit, y, np.arange(len(y)) % 2, 1)   # two folds are enough
    assert len(scores) == 2 and np.isfinite(oof).all()
