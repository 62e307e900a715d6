"Checks of spam_llms.finetune on real rows and the twin: loading, shapes, layer split, determinism, resume, leak-freedom, profiles."
import shutil
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from spam_llms import finetune as ft
from spam_llms.upstream import ensure_upstream
from spam_llms.config import resolve_stage
from spam_llms.core import load_json, stable_hash
from spam_llms.runio import load_inputs

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT/"nbs"/"03b_finetune.ipynb"
TINY = dict(max_len=12, n_train_layers=1, epochs=1, batch_size=16, n_threads=1)


def fit(tr, te, out_dir, **changes):
    "`fit_finetune` at TINY sizes (the notebook's smoke values otherwise), some values changed, without progress bars."
    return ft.fit_finetune(tr, te, out_dir, ft.FinetuneParams.smoke(**(TINY | changes)), progress=False)


@pytest.fixture(scope="module")
def real_frames(real_dir, tmp_path_factory):
    "The 132 real train rows (and 100 real test rows), preprocessed with 5 stored folds."
    d = tmp_path_factory.mktemp("real"); data = d/"data"; data.mkdir()
    shutil.copy(real_dir/"amazon2025_train_head132.csv", data/"train.csv"); shutil.copy(real_dir/"amazon2025_sample_test.csv", data/"test.csv")
    ensure_upstream(d/"run", "03b_finetune", str(data))
    inp = load_inputs(d/"run", with_blocks=False)
    return inp["train"], inp["test"]


@pytest.fixture(scope="module")
def minilm():
    return ft.load_encoder("minilm")


def test_bundled_encoder_tokenizes_real_rows(real_frames, minilm):
    tok, enc = minilm; tr, _ = real_frames
    t = ft.tokenize(tok, tr.text.tolist(), max_len=40)
    assert t["input_ids"].shape == (len(tr), 40) and t["attention_mask"].shape == (len(tr), 40)
    assert (t["input_ids"][:, 0] == tok.cls_token_id).all()
    # the encoder text starts with the item name, so the first word pieces are the name's
    first = tok.decode(t["input_ids"][0, 1:6]).replace(" ", "")
    assert first.lower() in tr.text.iloc[0].lower().replace(" ", ""), first
    with torch.no_grad(): h = enc(**t).last_hidden_state
    assert h.shape == (len(tr), 40, 384) and torch.isfinite(h).all()


def test_cached_lower_layers_plus_trained_top_equal_the_whole_encoder(real_frames, minilm):
    tok, enc = minilm; texts = real_frames[0].text.tolist()[:24]
    t = ft.tokenize(tok, texts, max_len=32)
    with torch.no_grad(): full = enc(**t).last_hidden_state
    for n_top in (0, 1, 3):
        states = ft.cache_states(enc, t, 6 - n_top, batch_size=7, progress=False)
        top = ft.TopEncoder(ft.load_encoder("minilm")[1], n_top)
        with torch.no_grad(): out = top(states.float(), t["attention_mask"])
        m = t["attention_mask"].bool()
        assert (out[m] - full[m]).abs().max() < 0.05, n_top  # float16 cache
        assert sum(p.numel() for p in top.parameters() if p.requires_grad) == sum(p.numel() for p in top.layers[0].parameters())


@pytest.fixture(scope="module")
def reference(real_frames, tmp_path_factory):
    "One uninterrupted 5-fold fit on the real rows: the yardstick of the determinism, resume and leak checks."
    d = tmp_path_factory.mktemp("ref")
    return d, fit(*real_frames, d, seed=3)


def test_same_seed_same_predictions_other_seed_differs(real_frames, reference, tmp_path):
    (ref_dir, a), (tr, te) = reference, real_frames
    b = fit(tr, te, tmp_path/"b", seed=3)
    c = fit(tr, te, tmp_path/"c", seed=4)
    for f in ["oof.parquet", "test.parquet"]:
        pd.testing.assert_frame_equal(pd.read_parquet(ref_dir/f), pd.read_parquet(tmp_path/"b"/f))
        assert not np.allclose(pd.read_parquet(ref_dir/f).pred, pd.read_parquet(tmp_path/"c"/f).pred)
    assert a["oof_smape"] == b["oof_smape"] and len(a["fold_smape"]) == 5
    oof = pd.read_parquet(ref_dir/"oof.parquet")
    assert set(oof.sample_id) == set(tr.sample_id) and np.isfinite(oof.pred).all() and (oof.set_index("sample_id").fold.reindex(tr.sample_id).to_numpy() == tr.fold.to_numpy()).all()
    assert set(pd.read_parquet(ref_dir/"test.parquet").sample_id) == set(te.sample_id)
    assert sorted(p.name for p in ref_dir.glob("fold*.safetensors")) == [f"fold{k}.safetensors" for k in range(5)]
    assert load_json(ref_dir/"metrics.json")["oof_smape"] == a["oof_smape"]


def test_resume_after_an_interrupted_run_gives_the_uninterrupted_result(real_frames, reference, tmp_path):
    (ref_dir, _), (tr, te) = reference, real_frames
    with pytest.raises(ft.FoldLimitReached, match="stopped after 1 new fold"):
        fit(tr, te, tmp_path, seed=3, max_new_folds=1)
    assert [p.name for p in tmp_path.glob("fold*.safetensors")] == ["fold0.safetensors"]
    assert not (tmp_path/"oof.parquet").exists()  # nothing half-written
    (tmp_path/"fold1.safetensors").write_bytes(b"a killed write")  # a torn file is retrained, not trusted
    m = fit(tr, te, tmp_path, seed=3)
    assert [v.get("resumed", False) for v in m["folds"].values()] == [True, False, False, False, False]
    for f in ["oof.parquet", "test.parquet"]:
        pd.testing.assert_frame_equal(pd.read_parquet(ref_dir/f), pd.read_parquet(tmp_path/f))
    # other settings: a finished fold is retrained, not reused
    with pytest.raises(ft.FoldLimitReached, match="stopped after 1 new fold"):
        fit(tr, te, tmp_path, seed=3, max_new_folds=1, lr=3e-4)
    assert not np.array_equal(ft.load_file(str(tmp_path/"fold0.safetensors"))["valid_pred"].numpy(),
                              ft.load_file(str(ref_dir/"fold0.safetensors"))["valid_pred"].numpy())


def test_oof_rows_never_see_their_own_fold(real_frames, reference, tmp_path):
    (ref_dir, _), (tr, te) = reference, real_frames
    tr2 = tr.copy(); f0 = tr2.fold == 0
    tr2.loc[f0, "log_price"] = np.random.default_rng(0).uniform(0, 7, f0.sum())  # scramble fold 0's prices
    fit(tr2, te, tmp_path, seed=3)
    a, b = pd.read_parquet(ref_dir/"oof.parquet"), pd.read_parquet(tmp_path/"oof.parquet")
    fold0 = a.fold == 0
    np.testing.assert_array_equal(a.pred[fold0], b.pred[fold0])  # fold 0's model never saw fold 0's prices
    assert not np.allclose(a.pred[~fold0], b.pred[~fold0])  # positive control: the other folds trained on them


@pytest.mark.parametrize("change", ["price", "text", "feature"])
def test_changed_prices_text_or_features_retrain_every_fold(real_frames, reference, tmp_path, change):
    "A rerun in a finished run folder with one input changed under the same ids and folds reuses no fold model."
    (ref_dir, _), (tr, te) = reference, real_frames
    shutil.copytree(ref_dir, tmp_path, dirs_exist_ok=True); tr2 = tr.copy(); r0 = tr2.index[0]
    if change == "price": tr2.loc[tr2.fold == 0, "log_price"] += 0.5  # a price correction in fold 0
    if change == "text": tr2.loc[r0, "text"] = tr2.loc[r0, "text"] + " Pack of 12"
    if change == "feature": col = [c for c in tr2.columns if c.startswith("num_")][0]; tr2.loc[r0, col] = 1e6  # another parser's reading
    assert fit(tr, te, tmp_path, seed=3)["folds"] == {k: {"resumed": True} for k in range(5)}  # positive control: unchanged, all reused
    m = fit(tr2, te, tmp_path, seed=3)
    assert not any(v.get("resumed") for v in m["folds"].values()), m["folds"]


def test_bad_settings_fail_clearly(real_frames, tmp_path):
    tr, te = real_frames
    with pytest.raises(ValueError, match="loss must be one of"): fit(tr, te, tmp_path/"x", loss="mse")
    with pytest.raises(ValueError, match="has 6 layers"): fit(tr, te, tmp_path/"x", n_train_layers=8)
    with pytest.raises(ValueError, match="no column 'fold'"): fit(tr.drop(columns="fold"), te, tmp_path/"x")


def test_every_profile_sets_only_declared_parameters():
    for prof in ["smoke", "default", "full", "real", "gpu"]:  # resolve_stage refuses an undeclared key; every key builds the parameter set
        ft.FinetuneParams(**{k: s.value for k, s in resolve_stage(NB, ROOT/"configs", prof).items()})


def test_gpu_profile_runs_on_cpu_at_smoke_size(tmp_path):
    "The gpu recipe (every layer trained, its optimiser settings) on the twin, with only the sizes shrunk, so it cannot rot."
    run = dict(run_dir=str(tmp_path), data_dir="", seed=1, device="cpu")
    p = ft.FinetuneParams(**{k: s.value for k, s in resolve_stage(NB, ROOT/"configs", "gpu", run=run).items()})
    assert p.n_train_layers == -1
    p = p.but(n_train=80, n_test=20, epochs=1, max_len=16, n_threads=1)  # sizes only
    ensure_upstream(p.run_dir, "03b_finetune", p.data_dir, p.n_train, p.n_test, p.seed)
    m = ft.run_finetune(p, progress=False)
    assert np.isfinite(m["oof_smape"]) and len(m["fold_smape"]) == 5
    assert m["n_trainable_params"] > 20_000_000  # the whole encoder trained, embeddings included
    assert len(pd.read_parquet(tmp_path/"finetune/test.parquet")) == 20
