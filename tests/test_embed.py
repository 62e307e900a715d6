"End-to-end checks of 02_embed on a small synthetic twin and real rows: offline encoders, bad images, kill -9 resume, cache, joint, Ray."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from spam_llms import embed_cache, embed_ray, encoders
from spam_llms.core import RunPaths
from spam_llms.embed import EmbedParams, ensure_embeddings, load_blocks, run_embed
from spam_llms.encoders import get_encoder
from spam_llms.testing import tiny_test_models

SIDE = 96  # efficientnet-lite0 input side in these tests (fast; the recipe is the same code as 224)
QUIET = dict(progress=False, log=lambda m: None)


def params(run, data_dir, **changes) -> EmbedParams:
    "The stage's smoke parameters for a run folder, in small chunks (several per split; default batch sizes), some values changed."
    return EmbedParams.smoke(run_dir=str(run), data_dir=data_dir, **({"chunk_rows": 16} | changes))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    "A preprocessed 128 + 48 row twin whose data folder has an empty, a truncated and a junk image (plus the twin's missing ones)."
    from spam_llms.preprocess import ensure_preprocessed
    run = tmp_path_factory.mktemp("embed")/"base"
    ensure_preprocessed(run, "", 128, 48, seed=5)
    links = [pd.read_parquet(run/"preprocessed"/f"{s}.parquet").image_link for s in ("train", "test")]
    tr = [l for l in dict.fromkeys(links[0]) if l]  # the twin shares some images between rows: take distinct files
    files = [run/"data"/l for l in (tr[0], tr[1], next(l for l in links[1] if l and l not in set(links[0])))]
    assert len(set(files)) == 3 and all(f.exists() for f in files)
    files[0].write_bytes(b""); files[1].write_bytes(files[1].read_bytes()[:300]); files[2].write_bytes(b"junk, not a jpeg")
    (run/"broken.json").write_text(json.dumps([f.name for f in files]))
    return run


@pytest.fixture(scope="module")
def onnx_seed(tmp_path_factory):
    "ONNX exports of both offline encoders, made once and hard-linked into each test's cache."
    d = tmp_path_factory.mktemp("onnx")/"onnx"
    get_encoder("text", "minilm", onnx_dir=d)["text"].load(); get_encoder("image", "efficientnet-lite0", image_size=SIDE, onnx_dir=d)["image"].load()
    return d


@pytest.fixture(scope="module")
def whole(base, onnx_seed, tmp_path_factory):
    "The reference run: both offline encoders, in this process, uninterrupted. Returns (run folder, cache, manifest dict)."
    run, cache = fresh(base, tmp_path_factory.mktemp("whole")/"run", onnx_seed)
    return run, cache, json.loads(embed_run(run, base, cache).read_text())


def fresh(base, dst, onnx_seed=None):
    "A new run folder with base's preprocessed inputs, and a cache folder beside it (seeded with the ONNX exports)."
    dst.mkdir(parents=True); shutil.copytree(base/"preprocessed", dst/"preprocessed")
    cache = dst.parent/f"{dst.name}_cache"
    if onnx_seed: shutil.copytree(onnx_seed, cache/"onnx", copy_function=os.link)
    return dst, cache


def embed_run(run, base, cache, log=QUIET["log"], **changes):
    return run_embed(params(run, str(base/"data"), **({"image_size": SIDE, "cache_dir": str(cache)} | changes)), progress=False, log=log)


def expected_bad(base, split):
    "Rows whose image file is missing, empty, truncated or junk."
    pre = pd.read_parquet(base/"preprocessed"/f"{split}.parquet")
    broken = set(json.loads((base/"broken.json").read_text()))
    return np.array([not (base/"data"/l).exists() or Path(l).name in broken for l in pre.image_link])


def no_loading(monkeypatch):
    "Make any model load fail: proves a run was served from the cache."
    def boom(*a, **k): raise AssertionError("a model was loaded although the cache holds these vectors")
    for f in ("_st_loader", "_lite0_loader", "_hf_image_loader", "_hf_joint_loader"): monkeypatch.setattr(encoders, f, boom)


def test_twin_offline_encoders_bad_images_and_cache(base, whole, tmp_path, monkeypatch):
    run, cache, m = whole; man = run/"embeddings"/"manifest.json"
    assert set(m["blocks"]) == {"text", "image"} and m["blocks"]["text"]["backend"] == m["blocks"]["image"]["backend"] == "onnxruntime"
    for split, n in (("train", 128), ("test", 48)):
        ids, blocks, has = load_blocks(man, split)
        np.testing.assert_array_equal(ids, pd.read_parquet(run/"preprocessed"/f"{split}.parquet").sample_id)
        assert blocks["text"].shape == (n, 384) and blocks["image"].shape == (n, 1280)
        assert np.load(m["blocks"]["image"][split]).dtype == np.float16 and np.load(m["blocks"]["text"][split]).dtype == np.float16
        bad = expected_bad(base, split)
        np.testing.assert_array_equal(has, ~bad)
        assert m["report"]["image"][split]["bad_images"] == bad.sum() > 0
        assert (blocks["image"][bad] == 0).all() and (np.abs(blocks["image"][~bad]).sum(1) > 0).all()
        np.testing.assert_allclose(np.linalg.norm(blocks["text"], axis=1), 1, atol=3e-3)  # all-MiniLM-L6-v2 normalises
        assert Path(m["blocks"]["text"]["cache"][split]).parent == cache and Path(m["blocks"]["text"]["cache"][split]).name.startswith("minilm-")
    met = json.loads((run/"embeddings"/"metrics.json").read_text())
    assert met["blocks"]["text"]["ms_per_sample"] > 0 and met["blocks"]["image"]["bad_images"]["train"] == expected_bad(base, "train").sum()
    # a second run with the same cache loads no model and links the same bytes
    no_loading(monkeypatch)
    run2, _ = fresh(base, tmp_path/"r2")
    m2 = json.loads(embed_run(run2, base, cache).read_text())
    assert all(r["cached"] for b in m2["report"].values() for r in b.values())
    for b in ("text", "image"):
        assert Path(m2["blocks"][b]["train"]).read_bytes() == Path(m["blocks"][b]["train"]).read_bytes()


def test_changed_recipe_or_rows_is_never_served_stale(base, onnx_seed, tmp_path):
    run, cache = fresh(base, tmp_path/"r", onnx_seed)
    m1 = json.loads(embed_run(run, base, cache, image_encoder="").read_text())
    m2 = json.loads(embed_run(run, base, cache, image_encoder="", max_tokens=16).read_text())
    assert m1["blocks"]["text"]["cache"]["train"] != m2["blocks"]["text"]["cache"]["train"]
    assert not m2["report"]["text"]["train"]["cached"]
    assert not np.allclose(load_blocks(run/"embeddings"/"manifest.json", "train")[1]["text"], np.load(Path(m1["blocks"]["text"]["cache"]["train"])/"train.npy"), atol=1e-2)
    pre = pd.read_parquet(run/"preprocessed"/"test.parquet"); pre.loc[0, "text"] = pre.text[0] + " (edited)"
    pre.to_parquet(run/"preprocessed"/"test.parquet", index=False)
    m3 = json.loads(embed_run(run, base, cache, image_encoder="").read_text())
    assert m3["report"]["text"]["train"]["cached"] and not m3["report"]["text"]["test"]["cached"]
    assert m3["blocks"]["text"]["cache"]["test"] != m1["blocks"]["text"]["cache"]["test"]
    assert not np.load(m3["has_image"]["test"]).any()  # no image encoder: no row has image features


KILL_SCRIPT = """
import sys
from spam_llms.embed import EmbedParams, run_embed
run_embed(EmbedParams.smoke(run_dir=sys.argv[1], data_dir=sys.argv[2], image_size=int(sys.argv[4]), cache_dir=sys.argv[3], chunk_rows=16), progress=False)
"""


def test_kill9_then_rerun_gives_the_same_bytes(base, onnx_seed, whole, tmp_path):
    mc = whole[2]
    run, cache = fresh(base, tmp_path/"killed", onnx_seed)
    p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(run), str(base/"data"), str(cache), str(SIDE)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0, chunks = time.time(), []
    while time.time() - t0 < 50 and p.poll() is None:
        chunks = list(cache.glob("*/*.parts/*.npz"))
        if len(chunks) >= 3: break
        time.sleep(0.01)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert len(chunks) >= 3, f"no chunk written before the kill (exit code {p.returncode})"
    assert not (run/"embeddings"/"manifest.json").exists()
    m = json.loads(embed_run(run, base, cache).read_text())
    assert sum(r["rows_resumed"] for b in m["report"].values() for r in b.values()) >= 3 * 16  # finished chunks were not recomputed
    assert not list(cache.glob("*/*.parts"))
    for b in ("text", "image"):
        for split in ("train", "test"):
            assert Path(m["blocks"][b][split]).read_bytes() == Path(mc["blocks"][b][split]).read_bytes(), (b, split)
            assert Path(m["has_image"][split]).read_bytes() == Path(mc["has_image"][split]).read_bytes()


def test_joint_and_model_id_paths_with_tiny_random_models(base, tmp_path):
    tiny = tiny_test_models(tmp_path/"models")
    run, cache = fresh(base, tmp_path/"r")
    m = json.loads(embed_run(run, base, cache, text_encoder=tiny["bert"], image_encoder=tiny["clip"], joint_encoder=tiny["clip"]).read_text())
    assert {b: v["dim"] for b, v in m["blocks"].items()} == {"text": 32, "image": 16, "joint_text": 16, "joint_image": 16}
    ids, blocks, has = load_blocks(run/"embeddings"/"manifest.json", "test")
    np.testing.assert_array_equal(has, ~expected_bad(base, "test"))
    assert (blocks["joint_image"][~has] == 0).all() and np.abs(blocks["joint_text"]).sum(1).min() > 0
    np.testing.assert_allclose(blocks["image"], blocks["joint_image"], atol=1e-3)  # same CLIP, same get_image_features
    assert Path(m["blocks"]["joint_text"]["cache"]["train"]).name.startswith("tiny-clip.text-")


def test_unloadable_joint_model_is_skipped_and_said_once(base, onnx_seed, tmp_path):
    run, cache = fresh(base, tmp_path/"r", onnx_seed); said = []
    m = json.loads(embed_run(run, base, cache, image_encoder="", joint_encoder=str(tmp_path/"no-such-model"), log=said.append).read_text())
    assert set(m["blocks"]) == {"text"}
    assert len([s for s in said if "joint" in s]) == 1 and "could not be loaded" in said[0]
    said.clear(); embed_run(run, base, cache, image_encoder="", log=said.append)
    assert len(said) == 1 and "no joint text+image encoder configured" in said[0]


def test_ensure_embeddings_builds_then_reuses(tmp_path, onnx_seed):
    from spam_llms.preprocess import ensure_preprocessed
    run = tmp_path/"outputs"/"solo"
    with pytest.raises(FileNotFoundError, match="run 01_preprocess first"): ensure_embeddings(run, "", n_train=40, n_test=20, seed=3)
    assert not run.exists()  # it builds embeddings only, never 01's outputs
    ensure_preprocessed(run, "", 40, 20, 3)
    shutil.copytree(onnx_seed, tmp_path/"outputs"/"embeddings"/"onnx", copy_function=os.link)  # the default cache: outputs/embeddings
    man = ensure_embeddings(run, "", n_train=40, n_test=20, seed=3)
    assert man == RunPaths(run).embeddings/"manifest.json" and len(load_blocks(man, "train")[0]) == 40
    assert any((tmp_path/"outputs"/"embeddings").glob("minilm-*/train.npy"))
    stamp = man.stat().st_mtime_ns
    assert ensure_embeddings(run, "", n_train=40, n_test=20, seed=3) == man and man.stat().st_mtime_ns == stamp  # kept as is
    pre = pd.read_parquet(run/"preprocessed"/"test.parquet"); pre.loc[3, "text"] = "a different text"
    pre.to_parquet(run/"preprocessed"/"test.parquet", index=False)
    old = json.loads(man.read_text())["blocks"]["text"]["cache"]
    new = json.loads(ensure_embeddings(run, "", n_train=40, n_test=20, seed=3).read_text())["blocks"]["text"]["cache"]
    assert new["train"] == old["train"] and new["test"] != old["test"]  # stale rows re-embedded, the rest reused


# ---- Ray Data: the same chunks computed by a pool of 2 local CPU actors

RAY = dict(ray=True, ray_actors=2, ray_cpus=2)


@pytest.fixture(scope="module")
def local_ray():
    "A local Ray of 2 CPUs shared by this module's Ray tests, shut down after them."
    ray = pytest.importorskip("ray")
    embed_ray.ray_start("", 2); yield; ray.shutdown()


def same_vectors(m, mc, blocks, splits=("train", "test")):
    "Text: the int8 row-by-row path, identical bytes; fp32 blocks (same batches): allclose 1e-6. Ids (and has_image with images) identical."
    for b in blocks:
        for split in splits:
            got, ref = np.load(m["blocks"][b][split]), np.load(mc["blocks"][b][split])
            if m["blocks"][b]["recipe"]["precision"] == "int8": assert got.tobytes() == ref.tobytes(), (b, split)
            else: np.testing.assert_allclose(got.astype(np.float32), ref.astype(np.float32), rtol=0, atol=1e-6, err_msg=f"{b} {split}")
            np.testing.assert_array_equal(np.load(m["blocks"][b]["ids"][split]), np.load(mc["blocks"][b]["ids"][split]))
    if "image" in blocks:
        for split in splits: np.testing.assert_array_equal(np.load(m["has_image"][split]), np.load(mc["has_image"][split]))


def test_ray_gives_the_plain_loop_vectors_on_the_twin(base, onnx_seed, whole, tmp_path, local_ray):
    run, cache = fresh(base, tmp_path/"ray", onnx_seed)
    m = json.loads(embed_run(run, base, cache, **RAY).read_text())
    assert m["engine"] == {"ray": True, "address": "", "cpus": 2, "actors": 2}
    for b in ("text", "image"):
        for split, n in (("train", 128), ("test", 48)):
            r = m["report"][b][split]
            assert (r["engine"], r["actors"], r["rows_computed"], r["backend"]) == ("ray", 2, n, "onnxruntime"), r
    assert m["blocks"]["text"]["recipe"]["precision"] == "int8" and m["blocks"]["image"]["recipe"]["precision"] == "fp32"
    same_vectors(m, whole[2], ("text", "image"))
    assert m["report"]["image"]["train"]["bad_images"] == expected_bad(base, "train").sum() > 0
    assert not list(cache.glob("*/*.parts"))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    "A run folder preprocessed from the real rows (132 train, 100 test); their image links are not fetched (offline)."
    from spam_llms.preprocess import ensure_preprocessed
    d = tmp_path_factory.mktemp("realdata")
    real = Path(__file__).parent/"fixtures"/"realdata"
    shutil.copy(real/"amazon2025_train_head132.csv", d/"train.csv"); shutil.copy(real/"amazon2025_sample_test.csv", d/"test.csv")
    ensure_preprocessed(d/"run", str(d), seed=1)
    return d


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_ray_gives_the_plain_loop_vectors_on_real_rows(real_run, onnx_seed, tmp_path, local_ray, precision):
    ms = {}
    for engine, kw in (("plain", {}), ("ray", RAY)):
        run, cache = fresh(real_run/"run", tmp_path/engine, onnx_seed)
        ms[engine] = json.loads(run_embed(params(run, str(real_run), image_encoder="", precision=precision, cache_dir=str(cache), **kw), **QUIET).read_text())
    assert ms["ray"]["report"]["text"]["train"]["engine"] == "ray" and ms["plain"]["report"]["text"]["train"]["engine"] == "local"
    assert ms["ray"]["blocks"]["text"]["recipe"]["precision"] == precision
    assert [len(np.load(ms["ray"]["ids"][s])) for s in ("train", "test")] == [132, 100]
    same_vectors(ms["ray"], ms["plain"], ("text",))


def test_a_ray_worker_killed_mid_run_is_replaced_and_every_row_lands_once(base, onnx_seed, whole, tmp_path, local_ray, monkeypatch):
    fault = tmp_path/"fault"
    monkeypatch.setenv("SPAM_LLMS_EMBED_FAULT", str(fault))  # the first actor to call finds no file, creates it and os._exit()s
    run, cache = fresh(base, tmp_path/"r", onnx_seed)
    m = json.loads(embed_run(run, base, cache, image_encoder="", **RAY).read_text())
    assert fault.exists()  # a worker process did die mid-embedding
    for split, n in (("train", 128), ("test", 48)):
        ids = np.load(m["blocks"]["text"]["ids"][split])
        assert len(ids) == len(np.unique(ids)) == n and m["report"]["text"][split]["rows_computed"] == n
    same_vectors(m, whole[2], ("text",))  # each row's own vector, in its place: none lost, none doubled


def test_ray_resumes_from_the_chunks_already_in_the_cache(base, onnx_seed, whole, tmp_path, local_ray, monkeypatch):
    run, cache = fresh(base, tmp_path/"r", onnx_seed)
    def stop(*a, **k): raise KeyboardInterrupt("stopped after the chunks")
    monkeypatch.setattr(embed_cache, "_assemble", stop)  # a plain run that writes all of train's chunks, then dies
    with pytest.raises(KeyboardInterrupt): embed_run(run, base, cache, image_encoder="")
    monkeypatch.undo()
    parts = sorted(cache.glob("minilm-*/train.parts/*.npz")); assert len(parts) == 128 // 16
    for p in parts[1::2]: p.unlink()  # half the chunks lost
    m = json.loads(embed_run(run, base, cache, image_encoder="", **RAY).read_text())
    r = m["report"]["text"]["train"]
    assert (r["engine"], r["rows_computed"], r["rows_resumed"]) == ("ray", 64, 64)  # only the missing chunks went to Ray
    same_vectors(m, whole[2], ("text",))
