"""Bad input refused before any stage runs: out-of-range values (with their source), models that cannot be loaded, an outputs
folder that cannot be written, local images outside the data folder or missing, a duplicated CSV column, a negative --seed.
Each case runs the command line (`main`) and asserts the message and that no stage started (no executed notebook, no marker)."""
import csv, shutil
from pathlib import Path
import pytest, yaml
from spam_llms.config import Valid, field_valid, params_class, declared_valid
from spam_llms.pipeline import main, list_stages, plan_chain, check_values_plan

ROOT = Path(__file__).resolve().parents[1]

def refused(capsys, tmp_path, *args) -> str:
    "Run the command line on the smoke profile; it must exit 1 before any stage ran; returns the error."
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--run", "r", "--outputs", str(tmp_path/"out"), *args])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("ERROR: ") and "Traceback" not in err, err
    assert not list((tmp_path/"out").rglob("*.ipynb")) and not list((tmp_path/"out").rglob(".stages")), "a stage ran"
    return err

CASES = [  # (--set, what the user is told)
    ("03_towers_cv.epochs=-1", "03_towers_cv.epochs = -1 (from --set): out of range; expected x >= 1"),
    ("01_preprocess.n_folds=1", "01_preprocess.n_folds = 1 (from --set): out of range; expected x >= 2"),
    ("03_towers_cv.dropout=1.5", "03_towers_cv.dropout = 1.5 (from --set): out of range; expected 0 <= x < 1"),
    ("04b_sparse_mlp.lr=0", "04b_sparse_mlp.lr = 0.0 (from --set): out of range; expected x > 0"),
    ("03_towers_cv.loss=bogus", '03_towers_cv.loss = "bogus" (from --set): not a choice; expected one of mse_log, minmax_bce, l1_log, smooth_l1_log, hybrid'),
    ("04_lgbm_baseline.num_leaves=1", "04_lgbm_baseline.num_leaves = 1 (from --set): out of range; expected x >= 2"),
    ("06_submission.blend_mode=nonsense", '06_submission.blend_mode = "nonsense" (from --set): not a choice; expected one of simplex, affine, auto'),
    ("03_towers_cv.batch_size=0", "03_towers_cv.batch_size = 0 (from --set): out of range; expected x >= 1"),
    ("04_lgbm_baseline.ks=5,0", "04_lgbm_baseline.ks = \"5,0\" (from --set): '0' is out of range; expected a comma-separated list, each x >= 1"),
    ("02_embed.text_encoder=nobody/no-such-model", '02_embed.text_encoder = "nobody/no-such-model" (from --set): not a bundled model (minilm, efficientnet-lite0), no folder'),
]

@pytest.mark.parametrize("setting,message", CASES, ids=[c[0].split("=")[0] for c in CASES])
def test_out_of_range_value_is_refused_before_any_stage(capsys, tmp_path, monkeypatch, setting, message):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert message in refused(capsys, tmp_path, "--set", setting)

def test_every_problem_at_once_and_hub_off_named(capsys, tmp_path, monkeypatch):
    err = refused(capsys, tmp_path, "--set", "03_towers_cv.epochs=-1", "--set", "02_embed.text_encoder=nobody/no-such-model")
    assert err.startswith("ERROR: 2 value(s) cannot work, so nothing ran") and "HF_HUB_OFFLINE=1" in err and "hub cache" in err

def test_finetune_model_is_resolved_when_the_stage_runs(capsys, tmp_path):
    err = refused(capsys, tmp_path, "--stages", "03b_finetune", "--set", "03b_finetune.model_name=nobody/no-such-model")
    assert '03b_finetune.model_name = "nobody/no-such-model" (from --set)' in err
    # a local folder is a model too (it is loaded later; here only resolved)
    p = plan_chain(ROOT, "smoke", ["03b_finetune"], {"03b_finetune": {"model_name": str(tmp_path)}})
    check_values_plan(ROOT, p)

def test_source_of_a_bad_value_is_named(tmp_path):
    "A value from a profile file or a tuned overlay is named with that file."
    from tests.test_pipeline import copy_repo
    root = copy_repo(tmp_path)
    f = root/"configs"/"real"/"03_towers_cv.yaml"; f.write_text(f.read_text() + "\npatience: 0\n")
    with pytest.raises(ValueError, match=r"03_towers_cv.patience = 0 \(from configs/real/03_towers_cv.yaml\): out of range; expected x >= 1"):
        check_values_plan(root, plan_chain(root, "real"))
    (root/"configs"/"tuned"/"bad.yaml").write_text("# stage 04_lgbm_baseline: by hand\nlearning_rate: -0.1\n")
    with pytest.raises(ValueError, match=r"04_lgbm_baseline.learning_rate = -0.1 \(from configs/tuned/bad.yaml\)"):
        check_values_plan(root, plan_chain(root, "default", tuned=["bad"]))

def test_a_stage_that_does_not_run_is_not_checked():
    check_values_plan(ROOT, plan_chain(ROOT, "smoke", ["00_eda"], {"03_towers_cv": {"epochs": "-1"}}))

def test_outputs_that_cannot_be_written(capsys, tmp_path):
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--run", "r", "--outputs", "/proc/x"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and "--outputs: cannot write the run folder /proc/x/r" in err and "Traceback" not in err, err

def test_negative_seed_names_the_option(capsys, tmp_path):
    assert "--seed -3: expected a whole number from 0 to 4294967295" in refused(capsys, tmp_path, "--seed", "-3")

def _data(tmp_path, real_dir, edit=None, header=None) -> Path:
    "A data folder of the real head rows, the train rows passed through `edit(row)`."
    d = tmp_path/"data"; d.mkdir()
    rows = list(csv.reader(open(real_dir/"amazon2025_train_head132.csv", newline="", encoding="utf-8")))
    with open(d/"train.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f); w.writerow(header or rows[0]); [w.writerow(edit(r) if edit else r) for r in rows[1:]]
    shutil.copy(real_dir/"amazon2025_sample_test.csv", d/"test.csv"); return d

def test_duplicated_column_in_the_header(capsys, tmp_path, real_dir):
    d = _data(tmp_path, real_dir, edit=lambda r: r + ["1.0"], header=["sample_id", "catalog_content", "image_link", "price", "price"])
    assert "train.csv: line 1: column(s) ['price'] appear more than once in the header" in refused(capsys, tmp_path, "--data", str(d))

def test_image_outside_the_data_folder(capsys, tmp_path, real_dir):
    d = _data(tmp_path, real_dir, edit=lambda r: r[:2] + ["../../etc/passwd"] + r[3:])
    assert "train.csv: row 1 (sample_id" in (err := refused(capsys, tmp_path, "--data", str(d))) and "points outside the data folder" in err

def test_missing_local_image(capsys, tmp_path, real_dir):
    d = _data(tmp_path, real_dir, edit=lambda r: r[:2] + ["images/nope.jpg"] + r[3:])
    err = refused(capsys, tmp_path, "--data", str(d))  # every row's image missing: the wrong folder, refused
    assert "132 of 132 local image links name no file, e.g. " in err and "row 1 (sample_id" in err and "image_link 'images/nope.jpg' ->" in err

@pytest.mark.parametrize("stage", list_stages(ROOT/"nbs", optional=True))
def test_every_numeric_field_declares_its_range(stage):
    "Every int or float field of a stage's parameter set (except the run's paths and the twin's standalone sizes) says what it accepts."
    cls = params_class(ROOT/"nbs"/f"{stage}.ipynb"); v = field_valid(cls)
    from dataclasses import fields
    missing = [f.name for f in fields(cls) if f.type in ("int", "float") and f.name not in v]
    assert not missing, f"{cls.__name__}: no valid(...) on {missing}"
    assert all(isinstance(x, Valid) for x in v.values())
    assert declared_valid(ROOT/"nbs"/f"{stage}.ipynb") == v  # what the runner reads from the source without importing the module
