"""The chain runner and the configuration model: stage discovery, parameter cells papermill can read, profiles that inherit and
say everything, one typed parameter set per stage, and the runner's answers to bad input."""
from pathlib import Path
import json, nbformat, pytest, shutil, yaml
from papermill.translators import PythonTranslator
from spam_llms.config import notebook_parameters, resolve_stage, chain_values, load_tuned, params_class, check_params_class, STANDALONE_KEYS
from spam_llms.pipeline import list_stages, plan_chain, check_complete, describe_plan, main

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

PROFILES = ["smoke", "default", "full", "real", "gpu"]
CFG = ROOT/"configs"

def copy_repo(tmp_path) -> Path:
    "A repository root sharing nbs/ with this one and holding a copy of configs/ to edit."
    root = tmp_path/"repo"; root.mkdir(parents=True); (root/"nbs").symlink_to(ROOT/"nbs"); shutil.copytree(CFG, root/"configs"); return root

# --- one typed parameter set per stage ---
@pytest.mark.parametrize("stage", ALL_STAGES)
def test_parameter_set_is_the_parameters_cell(stage):
    "Each stage's parameter set has exactly the parameters cell's names, in order, with the same types."
    cls = check_params_class(ROOT/"nbs"/f"{stage}.ipynb")
    assert cls.stage == stage
    p = cls.smoke()  # the cell's own values build it
    assert [f for f in notebook_parameters(ROOT/"nbs"/f"{stage}.ipynb")] == [f.name for f in __import__("dataclasses").fields(p)]

# --- profiles that inherit and say everything ---
@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_name_only_declared_parameters(profile):
    for s in ALL_STAGES: resolve_stage(ROOT/"nbs"/f"{s}.ipynb", CFG, profile)  # an unknown key raises, naming file and key
    assert set(chain_values(CFG, profile, "twin")) == {"n_train", "n_test", "image_size"}

@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "smoke"])
def test_no_key_comes_from_a_notebook_default(profile):
    "Every stage key of every profile but smoke is set by the profile chain (run plumbing and a notebook's own twin size aside)."
    plan = plan_chain(ROOT, profile, stages=ALL_STAGES, run={"run_dir": "/o/r", "data_dir": "/d", "device": "cpu"})
    check_complete(plan, CFG)
    for s, vals in plan["stages"].items():
        loose = [k for k, v in vals.items() if v.source == "notebook default" and k not in STANDALONE_KEYS]
        assert not loose, f"profile {profile}: {s}.{loose} would come from the notebook default"

def test_the_old_gpu_files_are_refused(tmp_path):
    "The gpu profile as it was (hand-copied files, no inheritance) left 04/04b keys to the smoke defaults: now an error."
    root = copy_repo(tmp_path); shutil.copytree(ROOT/"tests/fixtures/configs_before_inheritance/gpu", root/"configs"/"gpu_old")
    plan = plan_chain(root, "gpu_old", stages=ALL_STAGES)
    with pytest.raises(ValueError) as e: check_complete(plan, root/"configs")
    msg = str(e.value)
    assert "profile 'gpu_old'" in msg and "would silently take the notebook's smoke default" in msg
    unset = eval(msg.split("Unset: ")[1])
    assert {"tfidf_knn", "name_knn", "tfidf_knn_max_df"} <= set(unset["04_lgbm_baseline"]) and "knn_features" in unset["04b_sparse_mlp"]
    assert "knn_tfidf" in unset["04c_peers"]

def test_gpu_extends_real_and_states_each_difference_with_its_reason():
    "gpu = real's recipe at 75k on a GPU: every value that differs from real is set in configs/gpu (under a comment saying why)."
    plan = plan_chain(ROOT, "gpu", stages=ALL_STAGES); st = plan["stages"]
    assert plan["chain"] == ["default", "real", "gpu"]
    real, full = (plan_chain(ROOT, p, stages=ALL_STAGES)["stages"] for p in ("real", "full"))
    differ = {(s, k) for s in st for k, v in st[s].items() if k not in ("run_dir", "profile") and s in real and v.value != real[s][k].value}
    assert differ and all(st[s][k].source == f"configs/gpu/{s}.yaml" for s, k in differ), [(s, k, st[s][k].source) for s, k in differ]
    for f in (ROOT/"configs"/"gpu").glob("*.yaml"):  # each key (or run of keys) sits under a comment line
        lines = f.read_text().splitlines()
        for i, l in enumerate(lines):
            if l and not l.startswith("#") and "#" not in l:
                j = i - 1
                while j >= 0 and lines[j] and not lines[j].startswith("#"): j -= 1
                assert j >= 0 and lines[j].startswith("#"), f"{f.name}: {l!r} has no comment above it"
    for s, k in [("04_lgbm_baseline", "sparse_search"), ("04_lgbm_baseline", "knn_index"), ("04b_sparse_mlp", "tfidf_knn_max_df"), ("04c_peers", "sparse_search")]:
        assert st[s][k].value == full[s][k].value, (s, k)  # challenge scale: full's search choices
    # real's quality choices that full cuts for 2 cores come back
    assert (st["04_lgbm_baseline"]["lgbm_seeds"].value, st["04b_sparse_mlp"]["n_seeds"].value, st["04b_sparse_mlp"]["epochs"].value, st["03_towers_cv"]["patience"].value) == (3, 3, 8, 4)
    assert full["04_lgbm_baseline"]["lgbm_seeds"].value == 1 and full["04b_sparse_mlp"]["n_seeds"].value == 1
    assert all(st[s]["n_threads"].value == 0 for s in ("03_towers_cv", "03b_finetune", "04_lgbm_baseline", "04b_sparse_mlp"))  # all cores
    tuned = load_tuned(CFG, ["lgbm"])["04_lgbm_baseline"]
    assert {k: st["04_lgbm_baseline"][k].value for k in tuned if k != "num_boost_round"} == {k: v.value for k, v in tuned.items() if k != "num_boost_round"}
    assert st["04_lgbm_baseline"]["tfidf_knn"].value and st["04_lgbm_baseline"]["name_knn"].value and st["04c_peers"]["knn_tfidf"].value
    assert st["04c_peers"]["knn_tfidf_k"].source == "configs/real/04c_peers.yaml" and st["04b_sparse_mlp"]["loss"].source == "configs/real/04b_sparse_mlp.yaml"
    assert st["03_towers_cv"]["tower_dim"].value == 512 and st["03_towers_cv"]["loss"].source == "configs/real/03_towers_cv.yaml"

SPARSE_SEARCHERS = {"04_lgbm_baseline": ("tfidf_knn", "name_knn"), "04b_sparse_mlp": ("knn_features",), "04c_peers": ("knn_tfidf",)}

@pytest.mark.parametrize("profile", ["full", "gpu"])
def test_challenge_scale_profiles_run_no_exact_quadratic_search(profile):
    "At 75k + 75k rows the real recipe's TF-IDF neighbour parts are on, and no stage runs an exact all-pairs search for them."
    plan = plan_chain(ROOT, profile, stages=ALL_STAGES); st = plan["stages"]
    assert plan["twin"]["n_train"].value == plan["twin"]["n_test"].value == 75_000
    for stage, switches in SPARSE_SEARCHERS.items():
        assert all(st[stage][k].value for k in switches), stage
        assert st[stage]["sparse_search"].value == "topn" and st[stage]["tfidf_knn_max_df"].value == 0.05, stage
    assert st["04_lgbm_baseline"]["knn_index"].value == st["04b_sparse_mlp"]["knn_index"].value == st["05_knn_refine"]["knn_index"].value == "ivf"
    assert [s for s in ("default", "real") if plan_chain(ROOT, s, stages=ALL_STAGES)["stages"]["04_lgbm_baseline"]["sparse_search"].value != "exact"] == []

def test_full_sizes_for_two_cores_and_gpu_restores_them():
    "full reads 128 px images, 48 tokens and the text embedding space only; gpu (real's sibling) keeps 224 px and every space."
    full, gpu = (plan_chain(ROOT, p, stages=ALL_STAGES) for p in ("full", "gpu"))
    assert (full["twin"]["image_size"].value, full["stages"]["02_embed"]["image_size"].value, full["stages"]["02_embed"]["max_tokens"].value) == (128, 128, 48)
    assert full["stages"]["04_lgbm_baseline"]["spaces"].value == "text"
    assert (gpu["twin"]["image_size"].value, gpu["stages"]["02_embed"]["image_size"].value, gpu["stages"]["02_embed"]["max_tokens"].value) == (224, 224, 128)
    assert gpu["stages"]["04_lgbm_baseline"]["spaces"].value == plan_chain(ROOT, "real", stages=ALL_STAGES)["stages"]["04_lgbm_baseline"]["spaces"].value
    assert "05_knn_refine" not in plan_chain(ROOT, "full")["stages"] and "05_knn_refine" in plan_chain(ROOT, "gpu")["stages"]

def test_gpu_profile_resolves_the_cuda_settings(monkeypatch):
    "With --device cuda every torch stage gets cuda; the encoders run in bf16 (precision auto), the fine-tune trains every layer."
    import torch
    from spam_llms.core import resolve_device
    from spam_llms.encoders import resolve_precision
    plan = plan_chain(ROOT, "gpu", stages=ALL_STAGES, run={"device": "cuda"}); st = plan["stages"]
    assert all(v["device"].value == "cuda" and v["device"].source == "runner" for s, v in st.items() if "device" in v)
    assert st["02_embed"]["precision"].value == "auto" and st["02_embed"]["max_tokens"].value == 128
    for cap, want in [((9, 0), "bf16"), ((8, 0), "bf16"), ((7, 5), "fp16"), ((6, 0), "fp16")]:  # H100, A100, T4, P100
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None, cap=cap: cap)
        assert resolve_precision(st["02_embed"]["precision"].value, st["02_embed"]["device"].value) == want, cap
    assert resolve_precision(plan_chain(ROOT, "full", stages=ALL_STAGES, run={"device": "cpu"})["stages"]["02_embed"]["precision"].value, "cpu") == "int8"
    ft = st["03b_finetune"]
    assert (ft["n_train_layers"].value, ft["max_len"].value, ft["n_threads"].value) == (-1, 128, 0)
    assert "03b_finetune" in plan["todo"]  # the full fine-tune runs in the gpu chain
    with pytest.raises(Exception): resolve_device("cuda")  # this machine has no GPU: asking for one is an error, never a silent CPU run

def test_resolution_order_and_sources(tmp_path):
    "notebook default < profile chain < --tuned < runner < --set, each value naming its source."
    root = copy_repo(tmp_path)
    (root/"configs"/"tuned"/"t.yaml").write_text("# stage 04_lgbm_baseline: test overlay\nnum_leaves: 63\nlearning_rate: 0.07\n")
    plan = plan_chain(root, "real", sets={"04_lgbm_baseline": {"learning_rate": "0.2"}}, tuned=["t"], run={"seed": 5, "device": "cpu"})
    st = plan["stages"]["04_lgbm_baseline"]
    assert (st["learning_rate"].value, st["learning_rate"].source) == (0.2, "--set")
    assert (st["num_leaves"].value, st["num_leaves"].source) == (63, "configs/tuned/t.yaml")
    assert (st["lgbm_seeds"].value, st["lgbm_seeds"].source) == (3, "configs/real/04_lgbm_baseline.yaml")
    assert (st["svd_dims"].value, st["svd_dims"].source) == (32, "configs/default/04_lgbm_baseline.yaml")
    assert (st["seed"].value, st["seed"].source) == (5, "runner")
    assert st["n_train"].source == "notebook default"  # the twin size a notebook alone builds: the runner never needs it

def test_unknown_keys_and_files_are_errors_naming_them(tmp_path):
    root = copy_repo(tmp_path)
    with open(root/"configs"/"full"/"04_lgbm_baseline.yaml", "a") as f: f.write("tfidf_knnn: true\n")
    with pytest.raises(ValueError, match=r"configs/full/04_lgbm_baseline.yaml: unknown key 'tfidf_knnn'"): plan_chain(root, "full")
    root = copy_repo(tmp_path/"b"); (root/"configs"/"full"/"04_lgbm_baselin.yaml").write_text("svd_dims: 3\n")
    with pytest.raises(ValueError, match=r"configs/full/04_lgbm_baselin.yaml: not a stage of the chain"): plan_chain(root, "full")

def test_show_config_prints_every_value_with_its_source(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    main(["--profile", "gpu", "--show-config", "--outputs", str(tmp_path), "--set", "03_towers_cv.epochs=3", "--tuned", "lgbm"])
    out = capsys.readouterr().out; lines = out.splitlines()
    assert lines[0].startswith("# profile gpu: default -> real -> gpu (parent first); tuned: lgbm")
    row = lambda key: next(l for l in lines if l.startswith(key + " ="))
    assert row("04_lgbm_baseline.tfidf_knn").endswith("# configs/default/04_lgbm_baseline.yaml") and "= true" in row("04_lgbm_baseline.tfidf_knn")
    for s in ("04_lgbm_baseline", "04b_sparse_mlp", "04c_peers"):
        assert row(f"{s}.sparse_search").endswith(f"# configs/gpu/{s}.yaml") and '= "topn"' in row(f"{s}.sparse_search")
    assert row("04c_peers.knn_tfidf_k").endswith("# configs/real/04c_peers.yaml")
    assert row("03_towers_cv.epochs").endswith("# --set") and row("04_lgbm_baseline.num_leaves").endswith("# configs/tuned/lgbm.yaml")
    assert row("twin.n_train").endswith("# configs/gpu/twin.yaml") and row("03_towers_cv.tower_dim").startswith("03_towers_cv.tower_dim = 512")
    n_keys = sum(len(notebook_parameters(ROOT/"nbs"/f"{s}.ipynb")) for s in STAGES)  # every stage of the chain (gpu skips none)
    assert len([l for l in lines if not l.startswith(("#", "common.", "twin."))]) == n_keys
    assert not any(tmp_path.iterdir())  # nothing ran, nothing was written

# --- the command line: errors before any work ---
def test_cli_errors_are_clear(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(tmp_path), "--set", "03_towers_cv.epohcs=3", "--stages", "00_eda"])
    assert e.value.code == 1 and not (tmp_path/"smoke"/"data").exists()  # refused before any work
    assert "--set 03_towers_cv.epohcs: 03_towers_cv declares no parameter(s) ['epohcs']" in capsys.readouterr().err
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
    skip = chain_values(CFG, "real", "common")["skip_stages"].value
    assert skip == ["03b_finetune"] and set(skip) <= set(ALL_STAGES)
    assert chain_values(CFG, "full", "common")["skip_stages"].value == ["03b_finetune", "05_knn_refine"]  # full: the CPU fine-tune and the refinement out
    assert chain_values(CFG, "gpu", "common")["skip_stages"].value == []  # the gpu profile runs it

def test_tuned_overlays_are_valid_and_reach_their_stage(capsys, tmp_path, monkeypatch):
    for f in (CFG/"tuned").glob("*.yaml"):  # every committed overlay names only declared parameters of its stage
        for stage, v in load_tuned(CFG, [f.stem]).items(): resolve_stage(ROOT/"nbs"/f"{stage}.ipynb", CFG, "real", tuned=v)
    root = copy_repo(tmp_path)
    (root/"configs"/"tuned"/"typo.yaml").write_text("# stage 04_lgbm_baseline: a hand-edited overlay\nlerning_rate: 0.1\n")
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(root))
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--tuned", "typo", "--stages", "00_eda"])
    assert e.value.code == 1 and not (tmp_path/"out"/"smoke"/"data").exists()  # refused before any work, though 04 is not run
    assert "configs/tuned/typo.yaml: unknown key 'lerning_rate'" in capsys.readouterr().err
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--tuned", "nope", "--stages", "00_eda"])
    assert "--tuned nope: no" in capsys.readouterr().err

@pytest.mark.parametrize("run", ["../../x", "a/b", "..", "/tmp/abs"])
def test_a_run_name_is_a_name_not_a_path(capsys, tmp_path, monkeypatch, run):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT)); out = tmp_path/"a"/"b"/"outputs"; out.mkdir(parents=True)
    with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(out), "--run", run, "--stages", "00_eda"])
    assert e.value.code == 1 and "a run name is one folder name under outputs/" in capsys.readouterr().err
    assert [p.name for p in tmp_path.rglob("*")] == ["a", "b", "outputs"]  # nothing written, inside outputs/ or out of it

def test_data_must_be_a_folder(capsys, tmp_path, monkeypatch, real_dir):
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT))
    f = tmp_path/"train.csv"; shutil.copy(real_dir/"amazon2025_train_head132.csv", f)
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--data", str(f), "--stages", "00_eda"])
    assert f"{f}: is a file; expected a folder holding train.csv and test.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--data", str(tmp_path/"nope"), "--stages", "00_eda"])
    assert "nope: no such folder" in capsys.readouterr().err

def test_a_cut_off_csv_names_the_file_and_line(capsys, tmp_path, monkeypatch, real_dir):
    "A download cut inside a quoted catalog_content: the error names the file and the line where that field opens."
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT)); d = tmp_path/"data"; d.mkdir()
    shutil.copy(real_dir/"amazon2025_sample_test.csv", d/"test.csv")
    text = (real_dir/"amazon2025_train_head132.csv").read_text(); cut = text[:text.index("\n", 3000) + 20]
    (d/"train.csv").write_text(cut)
    with pytest.raises(SystemExit): main(["--profile", "smoke", "--outputs", str(tmp_path/"out"), "--data", str(d), "--stages", "00_eda"])
    err = capsys.readouterr().err
    import csv, io
    starts = [0]; r = csv.reader(io.StringIO(cut))
    for _ in r: starts.append(r.line_num)
    assert f"{d/'train.csv'}: line {starts[-2] + 1}: a quoted field opens there and is never closed" in err, err
    assert "Error tokenizing data" not in err

def test_a_second_chain_on_the_same_run_folder_is_refused(capsys, tmp_path, monkeypatch):
    "Two chains on one run folder would interleave writes: the second is refused, naming the first one's pid."
    import subprocess, sys
    monkeypatch.setenv("SPAM_LLMS_ROOT", str(ROOT)); run = tmp_path/"smoke"; run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", f"from spam_llms.pipeline import RunLock; import time\nwith RunLock({str(run)!r}): print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit) as e: main(["--profile", "smoke", "--outputs", str(tmp_path), "--stages", "00_eda"])
        err = capsys.readouterr().err
        assert e.value.code == 1 and f"is in use by another chain (pid {holder.pid}, started" in err, err
        assert not (run/"data").exists()
    finally: holder.kill(); holder.wait()

def test_kernel_log_noise_stays_out_of_the_run_log(capfd, tmp_path, monkeypatch):
    "A kernel that logs at error level (as ipykernel does when the shutdown SIGINT finds it busy) prints nothing to the run's terminal."
    from spam_llms import pipeline
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("run_dir: str = ''", metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell("get_ipython().kernel.log.error('KeyboardInterrupt caught in kernel.')")])
    nbformat.write(nb, tmp_path/"01_k.ipynb"); run = tmp_path/"run"; run.mkdir()
    assert pipeline.run_stage(tmp_path/"01_k.ipynb", run, {"run_dir": str(run)}, log=lambda *a, **k: None) == "ran"
    assert "KeyboardInterrupt" not in capfd.readouterr().err
    monkeypatch.setattr(pipeline, "QUIET_KERNEL", ["--IPKernelApp.log_level=ERROR"])  # positive control: the old level lets it through
    pipeline.run_stage(tmp_path/"01_k.ipynb", run, {"run_dir": str(run)}, force=True, log=lambda *a, **k: None)
    assert "KeyboardInterrupt caught in kernel." in capfd.readouterr().err
