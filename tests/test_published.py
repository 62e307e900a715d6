"""What is committed for readers (the published runs in docs/runs/, the bench records in bench/) holds no absolute path
of the machine that made it, and docs/runs stays small enough to clone."""
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"bench"))
from real_scoreboard import ABS_PATH, machine_paths, source_literals  # noqa: E402  what `--publish` refuses to write
TEXT = {".md", ".json", ".html", ".ipynb", ".csv", ".py", ".txt", ".yaml", ".yml"}

def published() -> list[Path]:
    return [f for d in (ROOT/"docs"/"runs", ROOT/"bench") if d.exists() for f in sorted(d.rglob("*"))
            if f.is_file() and f.suffix in TEXT and ROOT/"bench"/"_work" not in f.parents]  # bench/_work: local scratch (git-ignored), e.g. bench/mutation.py's copies

def test_the_pattern_finds_machine_paths_only():
    allowed = source_literals(ROOT); assert "/tmp/r" in allowed   # a toy path typed in a notebook's test is code
    for s in ["run_dir: /work/main/outputs/v_real", '"/tmp/pytest-1/run"', "(/home/me/data)", "'/Users/me/x'", "&quot;/tmp/r/x&quot;"]: assert machine_paths(s, allowed), s
    for s in ["outputs/v_real/data/train.csv", "../shared/realdata/amazon2025_dev", "https://m.media-amazon.com/images/I/x.jpg", "a/tmp/b",
              'run_dir=\\"/tmp/r\\"', "&quot;/tmp/r&quot;"]:
        assert not machine_paths(s, allowed), s

def test_no_absolute_paths_in_published_files():
    files, allowed = published(), source_literals(ROOT); assert any(f.parent == ROOT/"bench" for f in files)
    bad = [f"{f.relative_to(ROOT)}: {sorted(set(left))[:3]}" for f in files for left in [machine_paths(f.read_text(errors="replace"), allowed)] if left]
    assert not bad, "absolute machine paths (write them relative to the repository or the run folder):\n" + "\n".join(bad)

def test_docs_runs_size():
    runs = ROOT/"docs"/"runs"
    if not runs.exists(): pytest.skip("docs/runs is not published yet (bench/real_scoreboard.py --publish docs/runs)")
    size = sum(f.stat().st_size for f in runs.rglob("*") if f.is_file())
    assert size <= 15 * 2**20, f"docs/runs holds {size / 2**20:.1f} MiB (limit 15): lower the report's dpi or publish fewer pages"
