"The chain runner: stage discovery, parameter cells papermill can read, profiles that match the notebooks."
from pathlib import Path
import json, nbformat, pytest, shutil, yaml
from papermill.translators import PythonTranslator
from spam_llms.pipeline import list_stages, notebook_parameters, load_profile, stage_parameters, main

ROOT = Path(__file__).resolve().parents[1]
STAGES = list_stages(ROOT/"nbs")
ALL_STAGES = list_stages(ROOT/"nbs", optional=True)  # with 07_* (run only when named)

def test_chain_is_00_to_06():
    core = ["00_eda", "01_preprocess", "02_embed", "03_towers_cv", "04_lgbm_baseline", "05_knn_refine", "06_submission"]
    assert [s for s in STAGES if s in core] == core and STAGES == sorted(STAGES)
    assert not {"00a_core", "00b_data", "00c_synth", "04a_knn", "08_pipeline"} & set(STAGES)  # library notebooks are not stages

@pytest.mark.parametrize("stage", ALL_STAGES)
def test_parameters_cell_parses_for_papermill(stage):
    nb = nbformat.read(ROOT/"nbs"/f"{stage}.ipynb", as_version=4)
    cell = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cell) == 1
    ours = notebook_parameters(ROOT/"nbs"/f"{stage}.ipynb")
    theirs = {p.name: p for p in PythonTranslator.inspect(cell[0])}
    assert set(theirs) == set(ours), f"papermill cannot parse {set(ours) - set(theirs)} (quotes in a comment?)"
    assert all(p.help for p in theirs.values()), "every parameter carries a comment"
    assert {"run_dir", "seed"} <= set(ours) and ours["run_dir"][1].startswith("../outputs/nbtest/")

@pytest.mark.parametrize("profile", ["smoke", "default", "full", "real", "gpu"])
def test_profiles_name_only_declared_parameters(profile):
    for s in ALL_STAGES:
        stage_parameters(ROOT/"nbs"/f"{s}.ipynb", {}, load_profile(ROOT/"configs", profile, s), {})
    assert {"n_train", "n_test", "image_size"} == set(load_profile(ROOT/"configs", profile, "twin"))

def test_cli_errors_are_clear(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(tmp_path), "--set", "03_towers_cv.epohcs=3", "--stages", "00_eda"])
    assert e.value.code == 1 and not (tmp_path/"smoke"/"data").exists()  # refused before any work
    assert "['epohcs'] are not declared" in capsys.readouterr().err
    with pytest.raises(SystemExit): main(["--profile", "nope", "--outputs", str(tmp_path)])
    assert "unknown profile 'nope'" in capsys.readouterr().err

@pytest.mark.parametrize("value,expected", [("abc", "expected int"), ("2.5", "expected int")])
def test_set_with_a_wrong_type_names_key_value_and_type(capsys, tmp_path, monkeypatch, value, expected):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(tmp_path), "--set", f"03_towers_cv.epochs={value}", "--stages", "00_eda"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and not (tmp_path/"smoke"/"data").exists()  # refused before any work
    assert f"--set 03_towers_cv.epochs={value!r}: {expected}, got {value!r}" in err

def test_set_bool_refuses_a_non_boolean(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path), "--set", "03_towers_cv.run_ablation=maybe"])
    assert "03_towers_cv.run_ablation='maybe': expected bool" in capsys.readouterr().err

def test_real_profile_skips_only_known_stages():
    skip = load_profile(ROOT/"configs", "real", "common").get("skip_stages", [])
    assert skip == ["03b_finetune"] and set(skip) <= set(ALL_STAGES)

def test_tuned_overlays_are_valid_and_reach_their_stage(capsys, tmp_path, monkeypatch):
    from spam_llms.pipeline import load_tuned
    for f in (ROOT/"configs"/"tuned").glob("*.yaml"):  # every committed overlay names only declared parameters of its stage
        for stage, v in load_tuned(ROOT/"configs", [f.stem]).items(): stage_parameters(ROOT/"nbs"/f"{stage}.ipynb", {}, v, {})
    root = tmp_path/"repo"; root.mkdir(); (root/"nbs").symlink_to(ROOT/"nbs"); shutil.copytree(ROOT/"configs", root/"configs")
    (root/"configs"/"tuned"/"typo.yaml").write_text("# stage 04_lgbm_baseline: a hand-edited overlay\nlerning_rate: 0.1\n")
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(root))
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--tuned", "typo", "--stages", "00_eda"])
    assert e.value.code == 1 and not (tmp_path/"out"/"smoke"/"data").exists()  # refused before any work, though 04 is not run
    assert "['lerning_rate'] are not declared" in capsys.readouterr().err
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--tuned", "nope", "--stages", "00_eda"])
    assert "--tuned nope: no" in capsys.readouterr().err
