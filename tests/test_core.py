"The challenge metric on real prices: the published formula row by row, its edge cases, and the log-space wrapper."
import numpy as np, pandas as pd, pytest
from spam_llms.core import smape, smape_log


def _reference(a, p):
    "SMAPE as the challenge page writes it: mean of |F - A| / ((|A| + |F|) / 2), in percent, 0 where both are 0."
    return 100 * sum(0.0 if x == y == 0 else abs(y - x) / ((abs(x) + abs(y)) / 2) for x, y in zip(a, p)) / len(a)


@pytest.fixture(scope="module")
def prices(real_dir):
    return pd.read_csv(real_dir/"amazon2025_train_head132.csv").price.to_numpy(float)


def test_matches_the_published_formula_on_real_prices(prices):
    rng = np.random.default_rng(0)
    for pred in (np.full(len(prices), np.median(prices)), prices * rng.lognormal(0, 0.5, len(prices)), prices[::-1].copy()):
        assert smape(prices, pred) == pytest.approx(_reference(prices, pred), rel=1e-12)


def test_edges_of_the_metric(prices):
    assert smape(prices, prices) == 0.0
    assert smape(prices, 2 * prices) == pytest.approx(100 * 2 / 3)        # |2a - a| / (3a / 2)
    assert smape(prices, np.zeros_like(prices)) == pytest.approx(200.0)  # the ceiling
    assert smape([0.0, 10.0], [0.0, 10.0]) == 0.0 and smape([0.0, 10.0], [0.0, 30.0]) == pytest.approx(50.0)  # 0/0 rows count as 0 and still count
    assert smape(prices, 1.5 * prices) == pytest.approx(smape(1.5 * prices, prices))  # symmetric in its arguments
    assert smape([10.0], [-10.0]) == pytest.approx(200.0)  # absolute values in the denominator
    with pytest.raises(ValueError, match="shapes differ"): smape(prices, prices[:-1])


def test_scores_in_float64_whatever_the_inputs(prices):
    "Models hand over float32 or integer arrays; the score is the float64 one (a float32 SMAPE drifts in the 6th digit)."
    rng = np.random.default_rng(2); pred = (prices * rng.lognormal(0, 0.7, len(prices))).astype(np.float32)
    p32 = prices.astype(np.float32); assert smape(p32, pred) == smape(p32.astype(np.float64), pred.astype(np.float64))
    assert smape(prices, pred) == smape(prices, pred.astype(np.float64))
    assert smape(np.array([3, 5, 0]), np.array([4, 5, 0])) == pytest.approx(_reference([3, 5, 0], [4, 5, 0]), rel=1e-15)
    lp = np.log1p(prices) + rng.normal(0, 0.4, len(prices))
    assert smape_log(np.log1p(prices).astype(np.float32), lp.astype(np.float32)) == smape_log(np.log1p(prices).astype(np.float32).astype(float), lp.astype(np.float32).astype(float))


def test_rows_where_both_are_zero_count_as_zero_not_as_leftover_memory():
    "0/0 rows are written as 0, not left to whatever the output buffer held (np.divide with where= leaves them unset)."
    for n in (10, 1_000, 100_000):
        junk = np.full(n, 123.0); del junk  # freed memory that an unset buffer would show
        assert smape(np.zeros(n), np.zeros(n)) == 0.0
        a = np.r_[np.zeros(n), np.full(n, 10.0)]; assert smape(a, a * 2) == pytest.approx(100 * 2 / 3 / 2)


def test_log_space_scores_prices(prices):
    rng = np.random.default_rng(1); lp = np.log1p(prices) + rng.normal(0, 0.4, len(prices))
    assert smape_log(np.log1p(prices), lp) == pytest.approx(_reference(prices, np.expm1(lp)), rel=1e-12)
    assert smape_log(np.log1p(prices), np.log1p(prices)) == pytest.approx(0.0, abs=1e-12)
    assert isinstance(smape_log([1.0], [2.0]), float)
