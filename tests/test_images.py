"Images that fit a notebook: a folder of downloaded images read in place (--images DIR), and the run's account of the images it used."
import shutil
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from spam_llms.embed import EmbedParams, embed_usage, ensure_embeddings, load_blocks, run_embed
from spam_llms.pipeline import main

QUIET = dict(progress=False, log=lambda m: None)


def test_images_dir_finds_every_image_the_twin_has(tmp_path):
    "The twin's links turned into remote URLs (unreachable) and its files put in a folder named as the organisers' helper names them."
    from spam_llms.preprocess import ensure_preprocessed
    run, fetched = tmp_path/"run", tmp_path/"fetched"; ensure_preprocessed(run, "", 64, 16, seed=3); fetched.mkdir()
    p = EmbedParams.smoke(run_dir=str(run), data_dir="", text_encoder="", image_size=96, cache_dir=str(tmp_path/"cache"))
    local = run_embed(p, **QUIET); want = embed_usage(run)["images"]
    assert 0 < want["train"]["used"] <= want["train"]["rows"]
    _, ref, has_ref = load_blocks(local, "train")
    for s in ("train", "test"):
        f = run/"preprocessed"/f"{s}.parquet"; df = pd.read_parquet(f)
        for l in set(df.image_link) - {""}:
            if (run/"data"/l).exists(): shutil.copy(run/"data"/l, fetched/Path(l).name)
        df.assign(image_link=[f"http://127.0.0.1:9/images/I/{Path(l).name}" if l else l for l in df.image_link]).to_parquet(f)
    shutil.rmtree(run/"data"/"images")  # nothing left to read but the folder
    man = run_embed(p.but(images_dir=str(fetched)), **QUIET)
    got = embed_usage(run)["images"]
    assert {s: (v["used"], v["rows"]) for s, v in got.items()} == {s: (v["used"], v["rows"]) for s, v in want.items()}
    assert got["train"]["from_images_dir"] == want["train"]["used"] and got["test"]["from_images_dir"] == want["test"]["used"]
    _, vecs, has = load_blocks(man, "train")
    assert (has == has_ref).all() and np.array_equal(vecs["image"], ref["image"])  # the encoder saw the same images
    before = man.read_text()
    assert ensure_embeddings(run) == man and man.read_text() == before  # a later stage run alone keeps it (same folder, not re-embedded without it)


def test_images_option_sets_images_dir_and_refuses_a_missing_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(Path(__file__).parents[1]))
    main(["--profile", "gpu", "--show-config", "--outputs", str(tmp_path), "--images", str(tmp_path)])
    row = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("02_embed.images_dir ="))
    assert f'"{tmp_path.resolve()}"' in row
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path), "--images", str(tmp_path/"nope")])
    assert "--images" in capsys.readouterr().err and not (tmp_path/"smoke").exists()
