"""What is committed for readers (the published runs in docs/runs/, the bench records in bench/) holds no absolute path
of the machine that made it, and docs/runs stays small enough to clone."""
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"bench"))
from real_scoreboard import ABS_PATH  # noqa: E402  the pattern `--publish` refuses to write
TEXT = {".md", ".json", ".html", ".ipynb", ".csv", ".py", ".txt", ".yaml", ".yml"}

def published() -> list[Path]:
    return [f for d in (ROOT/"docs"/"runs", ROOT/"bench") if d.exists() for f in sorted(d.rglob("*")) if f.is_file() and f.suffix in TEXT]

def test_the_pattern_finds_machine_paths_only():
    for s in ["run_dir: /work/main/outputs/v_real", '"/tmp/pytest-1/run"', "(/home/me/data)", "'/Users/me/x'"]: assert ABS_PATH.search(s), s
    for s in ["outputs/v_real/data/train.csv", "../shared/realdata/amazon2025_dev", "https://m.media-amazon.com/images/I/x.jpg", "a/tmp/b"]:
        assert not ABS_PATH.search(s), s

def test_no_absolute_paths_in_published_files():
    files = published(); assert any(f.parent == ROOT/"bench" for f in files)
    bad = [f"{f.relative_to(ROOT)}:{t[:m.start()].count(chr(10)) + 1}: ...{t[max(0, m.start() - 40):m.start() + 40]!r}"
           for f in files for t in [f.read_text(errors="replace")] for m in [ABS_PATH.search(t)] if m]
    assert not bad, "absolute machine paths (write them relative to the repository or the run folder):\n" + "\n".join(bad)

def test_docs_runs_size():
    runs = ROOT/"docs"/"runs"
    if not runs.exists(): pytest.skip("docs/runs is not published yet (bench/real_scoreboard.py --publish docs/runs)")
    size = sum(f.stat().st_size for f in runs.rglob("*") if f.is_file())
    assert size <= 15 * 2**20, f"docs/runs holds {size / 2**20:.1f} MiB (limit 15): lower the report's dpi or publish fewer pages"
