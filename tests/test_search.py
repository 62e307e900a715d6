"Search stage: space parsing, seeded sampling, stored folds, resumable storage, shared workers (tiny data, TF-IDF peer)."
import os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import optuna
from spam_llms import peers, runio
import dataclasses
from spam_llms.peers import PeersParams
from spam_llms.search import (ADAPTERS, SearchParams, parse_space, suggest_params, make_sampler, make_pruner, FoldReporter,
                              run_trial, run_search, open_study, finished, storage_url, stage_base, check_space, resolve, repo_root)

optuna.logging.set_verbosity(optuna.logging.WARNING)
ROOT = Path(__file__).resolve().parents[1]
FAST = dict(progress=False, refit=False)
def search_params(run, **kw): "The TF-IDF peer's search on the tiny run folder."; return SearchParams.smoke(run_dir=str(run), model="tfidf", seed=0, n_train=200, n_test=50, device="cpu", **kw)

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    "A preprocessed 200-row twin run folder (the TF-IDF peer needs no embeddings)."
    from spam_llms.preprocess import ensure_preprocessed
    d = tmp_path_factory.mktemp("search")/"run"; ensure_preprocessed(d, n_train=200, n_test=50, seed=0)
    return d

# --- search-space files ---
@pytest.mark.parametrize("text,needle", [
    ("stage: s\nspace: {lr: {type: float, low: 0.1, high: [", "not valid YAML"),
    ("stage: s\nspace: {lr: {type: normal, low: 0.1, high: 1}}", "space.lr: unknown distribution 'normal'"),
    ("stage: s\nspace: {lr: {type: float, low: 1, high: 1}}", "space.lr: empty or inverted range"),
    ("stage: s\nspace: {leaves: {type: int, low: 64, high: 8}}", "space.leaves: empty or inverted range"),
    ("stage: s\nspace: {lr: {type: logfloat, high: 1}}", "space.lr: missing key 'low'"),
    ("stage: s\nspace: {loss: {type: categorical}}", "space.loss: missing key 'choices'"),
    ("stage: s\nspace: {loss: {choices: [a]}}", "space.loss: missing key 'type'"),
    ("space: {lr: {type: float, low: 0, high: 1}}", "missing key 'stage'"),
    ("stage: s\nspace: {lr: {type: logfloat, low: 0, high: 1}}", "space.lr: a logfloat range needs low > 0"),
    ("stage: s\nspace: {w: {type: float, low: 0, high: 1, when: {loss: a}}}", "space.w: 'when' refers to 'loss'"),
    ("stage: s\nfixed: {lr: 1}\nspace: {lr: {type: float, low: 0, high: 1}}", "['lr'] are both searched and fixed"),
])
def test_space_errors_name_the_key(text, needle):
    with pytest.raises(ValueError) as e: parse_space(text)
    assert needle in str(e.value), str(e.value)

def test_space_file_error_names_the_file(tmp_path):
    f = tmp_path/"bad.yaml"; f.write_text("stage: s\nspace: {lr: {type: float, low: 0.5, high: 0.1}}")
    with pytest.raises(ValueError, match="space.lr: empty or inverted range"): parse_space(f)
    f.write_text("stage: s\nspace: [1, 2")
    with pytest.raises(ValueError, match="bad.yaml: not valid YAML"): parse_space(f)

def test_conditional_key_only_when_its_condition_holds():
    sp = parse_space("stage: s\nspace:\n  loss: {type: categorical, choices: [mse_log, hybrid, l1_log]}\n"
                     "  w: {type: float, low: 0.1, high: 0.9, when: {loss: [hybrid, l1_log]}}")["space"]
    assert "w" not in suggest_params(optuna.trial.FixedTrial({"loss": "mse_log"}), sp)
    assert suggest_params(optuna.trial.FixedTrial({"loss": "l1_log", "w": 0.2}), sp) == {"loss": "l1_log", "w": 0.2}

@pytest.mark.parametrize("model", sorted(ADAPTERS))
def test_shipped_spaces_and_adapters_match_their_stage(model):
    "Every configs/search file parses and names only keys its stage declares and its model reads (catches API drift)."
    ad = ADAPTERS[model]; cfg = parse_space(ROOT/"configs"/"search"/f"{model}.yaml")
    base, decl = stage_base(ROOT, ad.stage); check_space(cfg, decl, ad)
    assert set(ad.reads) <= set(decl), sorted(set(ad.reads) - set(decl))
    assert set(ad.reads) <= {f.name for f in dataclasses.fields(resolve(ad.params))}

# --- sampler and pruner ---
def test_same_seed_same_suggestions():
    sp = parse_space(ROOT/"configs"/"search"/"towers.yaml")["space"]
    def seq(seed):
        s = optuna.create_study(sampler=make_sampler(seed, n_startup_trials=3))
        s.optimize(lambda t: len(str(suggest_params(t, sp))) % 7 + suggest_params(t, sp)["lr"], n_trials=8)  # TPE after 3 random
        return [t.params for t in s.trials]
    a = seq(5); assert a == seq(5); assert a != seq(6)

def test_pruner_stops_a_bad_trial_after_a_fold():
    y, folds = np.log1p(np.arange(1, 41, dtype=float)), np.arange(40) % 5
    def objective(trial):
        err = trial.suggest_float("err", 0, 1)
        fit = lambda k, tr, va: (y[va] + err, np.zeros(1))
        oof, _, _ = runio.cv_predict(fit, y, folds, 1, on_fold=FoldReporter(trial).on_fold)
        return float(np.mean(np.abs(oof - y)))
    s = optuna.create_study(pruner=make_pruner("median", n_startup_trials=2))
    for e in (0.0, 0.1, 0.9): s.enqueue_trial({"err": e})
    s.optimize(objective, n_trials=3)
    assert [t.state.name for t in s.trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert len(s.trials[2].intermediate_values) == 2       # stopped after the second fold (warm-up of one step)

# --- the objective reads the stored folds ---
def test_objective_uses_the_stored_fold_column(run, monkeypatch, tmp_path):
    seen, orig = [], runio.cv_predict
    def spy(fit_fold, y, folds, *a, **kw): seen.append(np.asarray(folds).copy()); return orig(fit_fold, y, folds, *a, **kw)
    monkeypatch.setattr(peers, "cv_predict", spy)
    common = dict(run_dir=str(run), data_dir="", n_train=200, n_test=50, seed=0, device="cpu")
    sp = parse_space("stage: 04c_peers\nspace: {tfidf_alpha: {type: logfloat, low: 0.1, high: 10}}")["space"]
    base = dataclasses.asdict(PeersParams.smoke()) | {"tfidf_max_features": 5000, "tfidf_char": "2,5"}
    v1 = run_trial(optuna.trial.FixedTrial({"tfidf_alpha": 1.0}), "tfidf", sp, base, common)
    stored = pd.read_parquet(run/"preprocessed"/"train.parquet")
    np.testing.assert_array_equal(seen[-1], stored.fold.to_numpy())
    # the same trial on a run whose fold column is permuted scores differently: the folds come from the file
    other = tmp_path/"permuted"; (other/"preprocessed").mkdir(parents=True)
    for f in (run/"preprocessed").iterdir():
        if f.is_file(): (other/"preprocessed"/f.name).write_bytes(f.read_bytes())
    (other/"data").symlink_to(run/"data")
    stored.assign(fold=np.random.default_rng(1).permutation(stored.fold.to_numpy())).to_parquet(other/"preprocessed"/"train.parquet")
    v2 = run_trial(optuna.trial.FixedTrial({"tfidf_alpha": 1.0}), "tfidf", sp, base, common | {"run_dir": str(other)})
    assert v1 != v2; np.testing.assert_array_equal(seen[-1], pd.read_parquet(other/"preprocessed"/"train.parquet").fold.to_numpy())

# --- storage: resume after kill -9, shared workers ---
def test_search_is_reproducible_from_the_seed(run, tmp_path):
    reps = [run_search(search_params(run, n_trials=3, storage=f"sqlite:///{tmp_path}/s{i}.db"), **FAST) for i in range(2)]
    tabs = [pd.read_csv(r["trials_csv"]) for r in reps]
    pd.testing.assert_frame_equal(tabs[0].filter(regex="^(value|params_)"), tabs[1].filter(regex="^(value|params_)"))

def complete_trials(db:Path) -> int:
    "COMPLETE trials in an Optuna SQLite file, read-only: polling through Optuna would race the worker creating its tables."
    import sqlite3, contextlib
    if not db.exists(): return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error: return 0  # tables not there yet

def test_kill_9_then_rerun_continues_the_study(run, tmp_path):
    url = f"sqlite:///{tmp_path}/killed.db"
    code = (f"from spam_llms.search import run_search, SearchParams; run_search(SearchParams.smoke(run_dir={str(run)!r}, model='tfidf', "
            f"n_trials=200, storage={url!r}, seed=0, n_train=200, n_test=50, device='cpu'), progress=False, refit=False)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        t0 = time.time()
        while time.time() - t0 < 300:
            time.sleep(1)
            assert p.poll() is None, p.stderr.read().decode()[-2000:]
            if complete_trials(tmp_path/"killed.db") >= 1: break
        else: pytest.fail("no trial finished within 300 s")
    finally: os.kill(p.pid, signal.SIGKILL); p.wait()
    before = open_study(url, "tfidf"); n_done, n_all = finished(before), len(before.trials)
    assert n_done >= 1
    rep = run_search(search_params(run, n_trials=n_done + 2, storage=url), **FAST)
    after = open_study(url, "tfidf"); nums = [t.number for t in after.trials]
    assert len(nums) > n_all and len(set(nums)) == len(nums) and finished(after) == n_done + 2
    assert rep["complete"] + rep["pruned"] == n_done + 2

def test_two_workers_share_one_sqlite_storage(run, tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    rep = run_search(search_params(run, n_trials=4, storage=url, n_workers=2), **FAST)
    st = open_study(url, "tfidf"); nums = [t.number for t in st.trials]
    assert finished(st) == 4 and sorted(nums) == list(range(len(nums))) and len(nums) == 4
    assert sorted(t.user_attrs["worker"] for t in st.trials) == [0, 0, 1, 1]
    assert Path(rep["trials_csv"]).exists() and rep["n_trials"] == 4

def test_default_storage_is_sqlite_in_the_run(tmp_path):
    assert storage_url(tmp_path, "lgbm") == f"sqlite:///{tmp_path.absolute()}/search/lgbm.db"
    assert storage_url(tmp_path, "lgbm", "postgresql://h/db") == "postgresql://h/db"

def test_two_workers_from_the_stage_notebook(tmp_path, monkeypatch):
    "The stage as the runner runs it (papermill: its functions live in the notebook's __main__) with two worker processes."
    from spam_llms.pipeline import main
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    main(["--profile", "smoke", "--outputs", str(tmp_path), "--stages", "07_search", "--set", "twin.n_train=200", "--set", "twin.n_test=50",
          "--set", "07_search.model=tfidf", "--set", "07_search.n_trials=2", "--set", "07_search.n_workers=2"])
    st = open_study(f"sqlite:///{tmp_path}/smoke/search/tfidf.db", "tfidf")
    assert finished(st) == 2 and sorted(t.user_attrs["worker"] for t in st.trials) == [0, 1]
