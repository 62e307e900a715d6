"The README: made from nbs/index.ipynb, short, its numbers the scoreboard's (bench/real.json), its commands the ones that run."
import json, os, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/"README.md").read_text()
SB = json.loads((ROOT/"bench"/"real.json").read_text()) if (ROOT/"bench"/"real.json").exists() else {}  # a missing file fails the tests that read it
f2 = lambda x: "" if x is None else f"{x:.2f}"

def section(title:str) -> str:
    "The README's text under `## title`, up to the next `## ` heading."
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]

def results_rows() -> tuple[str, list]:
    "The results table: its header line and its rows as lists of cells."
    lines = section("Results").splitlines(); i = next(i for i, l in enumerate(lines) if l.startswith("| real dev set |"))
    rows = []
    for l in lines[i + 2:]:
        if not l.startswith("|"): break
        rows.append([c.strip() for c in l.strip().strip("|").split("|")])
    return lines[i], rows

def test_readme_is_made_from_the_index_notebook():
    r = subprocess.run([sys.executable, "scripts/make_readme.py", "--check"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "SPAM_LLMS_ROOT": str(ROOT)})
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]

def test_readme_is_short(): assert README.count("\n") <= 200, README.count("\n")  # 180 before the glossary and the published runs' links

def test_results_table_is_the_scoreboard():
    dev, twin = SB["real"][SB["dev"]], SB["twin"]; m = dev["models"]; peer, best = dev["best_peer"], dev["best_single"]
    assert peer in SB["real"][SB["dev"]]["peers"] and best == min(m, key=lambda n: (m[n]["oof"], n))
    header, rows = results_rows()   # real data only: the twin is told apart, below the table
    ci = lambda c: "" if not c else f" [{c[0]:.2f}, {c[1]:.2f}]"
    want = [m[peer], m[best], dev["blend"]]
    assert [r[1:] for r in rows] == [[f2(w["oof"]) + ci(w.get("oof_ci95")), f2(w["test"]) + ci(w.get("test_ci95"))] for w in want]
    assert f"`{peer}`" in rows[0][0] and f"`{best}`" in rows[1][0] and "blend" in rows[2][0] and len(rows) == 3
    after = section("Results").split(header, 1)[1]
    assert f"blend OOF {f2(twin['blend']['oof'])}" in after and f"oracle floor (its noise-free prices) of {f2(twin['oracle'])}" in after

def test_no_typed_score_in_the_results_section():
    "Every decimal number under ## Results is one the scoreboard gives."
    dev, twin, ag = SB["real"][SB["dev"]], SB["twin"], SB["agreement"]
    vals = [v[k] for r in (dev, twin) for v in r["models"].values() for k in ("oof", "test")] + \
           [r["blend"][k] for r in (dev, twin) for k in ("oof", "test")] + [twin["oracle"]]
    cis = [c for r in (dev, twin) for v in list(r["models"].values()) + [r["blend"]] for k in ("oof_ci95", "test_ci95") for c in (v.get(k) or [])]
    diffs = [abs(d[k]) for part in (dev["blend"].get("minus_best_ci95") or {}).values() for d in part.values() for k in ("value", "lo", "hi")]
    allowed = {f2(v) for v in vals + cis + diffs if v is not None} | {f"{s / 60:.1f}" for s in (dev["chain_seconds"], twin["chain_seconds"])} | \
              {f"{dev['blend_over_best_peer_test']:.3f}", f"{ag['tau']:.2f}", f"{dev['peak_mb_max'] / 1024:.1f}"}
    found = re.findall(r"(?<![\d.])\d+\.\d+", section("Results"))
    assert found and set(found) <= allowed, set(found) - allowed

def test_real_md_and_real_json_agree():
    "REAL.md's model table and real.json come from one collection."
    dev = SB["real"][SB["dev"]]; text = (ROOT/"bench"/"REAL.md").read_text().split(f"\n## {SB['dev']}: ", 1)[1].split("\n## ", 1)[0]
    for name, v in dev["models"].items():
        row = re.search(rf"^\| {re.escape(name)}( \(peer: .*\))? \| ([\d.]+|n/a) \| ([\d.]+|n/a) \|", text, re.M)
        assert row and row[2] == f2(v["oof"]) and row[3] == (f2(v["test"]) or "n/a"), name
    assert f"**{f2(dev['blend']['oof'])}** | **{f2(dev['blend']['test'])}**" in text

def test_quick_start_is_what_ci_runs():
    block = section("Quick start").split("```bash\n", 1)[1].split("```", 1)[0]
    cmds = [l.split("#")[0].strip() for l in block.splitlines() if l.strip()]
    assert cmds == ["./run_all.sh", "./run_tests.sh"], cmds
    assert all(os.access(ROOT/c, os.X_OK) for c in cmds)
    ci = [l.strip() for l in (ROOT/".ci"/"run").read_text().splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert ci[-1] == "./run_tests.sh", ci  # CI runs the README's test command, nothing else
    assert "make_readme.py" in (ROOT/"run_tests.sh").read_text()  # ... which checks this README

def test_gpu_command_resolves_on_cpu(tmp_path, real_dir):
    "The README's GPU command, with --show-config, resolves every stage parameter on a machine without a GPU."
    line = next(l for l in section("On a GPU").splitlines() if l.startswith("./run_all.sh") and "--profile gpu" in l)
    args = line.split("#")[0].split()[1:]
    assert args[:6] == ["--data", "DIR", "--profile", "gpu", "--device", "cuda"], args
    data = tmp_path/"data"; data.mkdir()
    shutil.copy(real_dir/"amazon2025_train_head132.csv", data/"train.csv"); shutil.copy(real_dir/"amazon2025_sample_test.csv", data/"test.csv")
    args = [str(data) if a == "DIR" else a for a in args] + ["--show-config", "--outputs", str(tmp_path/"outputs")]
    r = subprocess.run([sys.executable, "-c", "from spam_llms.pipeline import main; main()", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, env={**os.environ, "SPAM_LLMS_ROOT": str(ROOT)})
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "ERROR" not in out, out[-4000:]
    assert re.search(r"^\s*03b_finetune\.n_train_layers = -1\b", out, re.M) and "02_embed.text_encoder" in out, out[-4000:]
    assert not (tmp_path/"outputs").exists()  # resolved, nothing run

# scripts/bootstrap.sh, as the README's GPU section describes it: the same install on a CPU machine, GPU packages kept
FAKE_PY = r'''#!/usr/bin/env bash
echo "python $*" >> "$LOG"
if [ "$1" = "-c" ]; then
  case "$2" in
    *torch.version*) if [ -n "$FAKE_TORCH_CUDA" ]; then echo 1; elif [ -n "$FAKE_TORCH" ]; then echo 0; else exit 1; fi ;;
    *faiss-gpu*) if [ -n "$FAKE_FAISS_GPU" ]; then echo 1; else echo 0; fi ;;
  esac; exit 0
fi
prev=; for a in "$@"; do if [ "$prev" = "-r" ]; then echo "REQ $(tr '\n' ' ' < "$a")" >> "$LOG"; fi; prev=$a; done
'''

def _bootstrap(tmp_path, **env) -> list:
    "Source a copy of bootstrap.sh whose .venv python only logs what it is asked; the pip lines it ran."
    root = tmp_path/"repo"; shutil.rmtree(root, ignore_errors=True); (root/"scripts").mkdir(parents=True); (root/".venv"/"bin").mkdir(parents=True)
    shutil.copy(ROOT/"scripts"/"bootstrap.sh", root/"scripts")
    (root/"requirements.lock").write_text("numpy==2.0\nfaiss-cpu==1.15.1\ntorch==2.13.0\n"); (root/"setup.py").write_text(""); (root/"settings.ini").write_text("")
    py = root/".venv"/"bin"/"python"; py.write_text(FAKE_PY); py.chmod(0o755); log = tmp_path/"log"; log.unlink(missing_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "SPAM_LLMS_KEEP"))}
    r = subprocess.run(["bash", "-c", "source scripts/bootstrap.sh"], cwd=root, capture_output=True, text=True, env=clean | {"LOG": str(log)} | env)
    assert r.returncode == 0, r.stdout + r.stderr
    return [l.replace(str(root), "ROOT") for l in log.read_text().splitlines() if not l.startswith("python -c")]

def test_bootstrap_installs_the_lock_on_a_cpu_machine(tmp_path):
    pinned = ["python -m pip install -q --upgrade pip wheel setuptools>=64", "python -m pip install -q torch==2.13.0",
              "python -m pip install -q -r ROOT/requirements.lock", "REQ numpy==2.0 faiss-cpu==1.15.1 torch==2.13.0 ",
              "python -m pip install -q --no-deps -e ROOT"]
    assert _bootstrap(tmp_path) == pinned  # a fresh clone, CI: no torch yet
    assert _bootstrap(tmp_path, FAKE_TORCH="1") == pinned  # a CPU torch is reinstalled at the pin
    assert _bootstrap(tmp_path, FAKE_TORCH_CUDA="1", SPAM_LLMS_KEEP_TORCH="0") == pinned

def test_bootstrap_keeps_a_cuda_torch_and_faiss_gpu(tmp_path):
    got = _bootstrap(tmp_path, FAKE_TORCH_CUDA="1")
    assert not any("torch==2.13.0" in l for l in got) and "REQ numpy==2.0 faiss-cpu==1.15.1 " in got
    got = _bootstrap(tmp_path, FAKE_TORCH_CUDA="1", FAKE_FAISS_GPU="1")
    assert "REQ numpy==2.0 " in got and not any("faiss-cpu" in l or "torch==" in l for l in got)
    got = _bootstrap(tmp_path, FAKE_FAISS_GPU="1")
    assert "python -m pip install -q torch==2.13.0" in got and "REQ numpy==2.0 torch==2.13.0 " in got
    assert "REQ numpy==2.0 faiss-cpu==1.15.1 " in _bootstrap(tmp_path, SPAM_LLMS_KEEP_TORCH="1")
