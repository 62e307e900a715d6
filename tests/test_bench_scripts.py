"""Every command-line script in bench/ and scripts/ starts: its imports from spam_llms resolve and its options parse.
Nothing else imports these files, so a renamed or moved function breaks them silently (bench/learning_curve.py imported
`tfidf_ridge_cv` from gbm for weeks after it moved to peers). About 15 s on 2 cores."""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIS = sorted(p for d in ("bench", "scripts") for p in (ROOT/d).glob("*.py") if "argparse" in p.read_text())


def test_the_command_line_scripts_are_found():
    "The list below is not empty by accident: the scripts the README and RESULTS.md name are in it."
    names = {p.name for p in CLIS}
    assert {"run_scale.py", "learning_curve.py", "real_scoreboard.py", "make_readme.py"} <= names, names


@pytest.mark.parametrize("script", CLIS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_script_help_runs(script):
    "`python SCRIPT --help` exits 0 with a usage line (the script imported everything it names)."
    env = {**os.environ, "SPAM_LLMS_ROOT": str(ROOT), "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "usage" in r.stdout.lower(), (script.name, r.returncode, r.stderr[-1500:])
