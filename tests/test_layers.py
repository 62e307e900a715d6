"""The package's layering is a checked contract: lint-imports keeps it (run by ./run_tests.sh too), and it can fail."""
import os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).parent/"lint-imports")

def lint(cwd) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(cwd)})

def test_the_package_imports_downward_only():
    r = lint(ROOT)
    assert r.returncode == 0 and "spam_llms imports downward only KEPT" in r.stdout, r.stdout[-2000:]

def test_an_upward_import_breaks_the_contract(tmp_path):
    "Positive control: a copy of the package whose core imports the runner inside a function is refused, naming the import."
    shutil.copytree(ROOT/"spam_llms", tmp_path/"spam_llms", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT/"pyproject.toml", tmp_path/"pyproject.toml")
    with open(tmp_path/"spam_llms"/"core.py", "a") as f: f.write("\n\ndef _upward():\n    from spam_llms.pipeline import main\n    return main\n")
    r = lint(tmp_path)
    assert r.returncode == 1 and "BROKEN" in r.stdout and "spam_llms.core -> spam_llms.pipeline" in r.stdout, r.stdout[-2000:]

def test_no_import_cycles():
    sys.path.insert(0, str(ROOT/"bench"))
    from import_graph import cycles
    assert cycles(ROOT) == []
