"""The ready Kaggle notebook (kaggle/spam_llms_kaggle.ipynb), simulated on the CPU as a competitor's session runs it.

- The notebook image: a Python whose packages are the project's .venv less what Kaggle's image lacks
  (kaggle/freeze_kaggle.txt against requirements-runtime.txt, with their dependencies): torch, transformers, pandas ...
  are "preinstalled"; pint, faiss, onnxruntime, the offline encoders ... are not, and the spam_llms package is not.
- The three datasets attached read-only: the repository (its tracked and new files), a wheels folder (wheels of the
  missing packages, repacked from .venv: no network needed to make it), a small real data set (tests/fixtures rows).
- No network (`unshare -n`, with loopback up for the kernels), the inputs a read-only bind mount (`unshare -m`),
  outputs only in the working folder, the install's venv and caches under a scratch /tmp.
Session 1 runs the notebook through papermill and is killed in the middle of the stage after 01_preprocess; its working
folder becomes the "saved version" (read-only input); session 2 starts from an empty working folder and a fresh /tmp,
copies the saved run back, skips the finished stages, finishes the rest and writes submission.csv.
"""
import os, shutil, subprocess, sys, time
from pathlib import Path
import pandas as pd, psutil, pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"scripts"))
import offline_env  # noqa: E402

NB, RUN, TIMEOUT = ROOT/"kaggle"/"spam_llms_kaggle.ipynb", "kaggle", 210
# the quickest chain that still ends in a submission (the whole smoke chain takes ~6 min on 2 loaded cores): the text peers
STAGES = "01_preprocess,04c_peers,06_submission"
FIX = ROOT/"tests"/"fixtures"/"realdata"


def _ok(cmd) -> bool: return subprocess.run(cmd, capture_output=True).returncode == 0

# an own network and mount namespace (root); without it, pip's --no-index alone keeps the install offline
ISOLATE = (["unshare", "-n", "-m", "--propagation", "private"]
           if shutil.which("unshare") and _ok(["unshare", "-n", "-m", "sh", "-c", "ip link set lo up"]) else None)


def _closure(names) -> set[str]:
    "Distributions `names` need here (installed metadata, this Python's markers), names normalised."
    return offline_env._closure(names, markers={"extra": ""})


def make_image(dst:Path) -> tuple:
    "The notebook image: a venv whose site links .venv's packages less the ones Kaggle lacks; (python, site, held, missing)."
    from importlib.metadata import distributions
    kaggle = offline_env.read_freeze((ROOT/"kaggle"/"freeze_kaggle.txt").read_text())
    missing, _ = offline_env.check_ranges(offline_env.read_ranges(), kaggle)
    keep = _closure(kaggle) | set(kaggle)  # what the image's own packages need stays (here: .venv's versions of them)
    held = sorted(_closure(r.name for r in missing) - keep) + ["spam-llms"]
    site = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p, "torch").is_dir()))
    owner = {}
    for d in distributions(path=[str(site)]):
        name = offline_env._norm(d.metadata["Name"])
        for top in {f.parts[0] for f in d.files or []} - {"..", "__pycache__"}: owner.setdefault(top, set()).add(name)
    img_site = dst/"image-site"; img_site.mkdir(parents=True)
    for e in site.iterdir():
        if e.name in owner and owner[e.name] <= set(held) or e.name.startswith("__editable__") or e.name == "__pycache__": continue
        (img_site/e.name).symlink_to(e)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dst/"image")], check=True)
    pure = next((dst/"image"/"lib").glob("python3*"))/"site-packages"
    (pure/"_image.pth").write_text(f"import site; site.addsitedir({str(img_site)!r})\n")
    return dst/"image"/"bin"/"python", img_site, held, missing


def snapshot(folder:Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if not p.is_symlink()}


def kill_tree(pid:int):
    "Stop a process and every descendant (kernels run in sessions of their own, so a process group is not enough), then kill them."
    procs = [psutil.Process(pid)]
    for _ in range(3):  # suspended first, so none starts another after the listing
        for q in procs:
            try: q.suspend()
            except psutil.Error: pass
        procs = list({q.pid: q for q in procs + [c for q in procs if q.is_running() for c in q.children(recursive=True)]}.values())
    for q in procs:
        try: q.kill()
        except psutil.Error: pass


def run_session(scratch:Path, py:Path, n:int, kill_after:str="") -> tuple[int, str, str]:
    "One notebook session (papermill, offline, inputs read-only); killed mid-stage after `kill_after` finished if given."
    inputs, work, out = scratch/"inputs", scratch/"working", scratch/"logs"/f"session{n}.ipynb"
    for d in ("home", "tmp"): shutil.rmtree(scratch/d, ignore_errors=True); (scratch/d).mkdir()  # a new session: a fresh machine
    work.mkdir(exist_ok=True); out.parent.mkdir(exist_ok=True)
    params = dict(REPO=inputs/"spam-llms", WHEELS=inputs/"spam-llms-wheels", DATA=inputs/"amazon-ml-2025", INPUTS=inputs, WORK=work,
                  VENV=scratch/"tmp"/"spam_llms_env", RUN=RUN, PROFILE="auto", DEVICE="auto", STAGES=STAGES)
    pm = [str(py), "-m", "papermill", str(inputs/"spam-llms"/"kaggle"/NB.name), str(out), "-k", "python3", "--cwd", str(work)]
    pm += [a for k, v in params.items() for a in ("-p", k, str(v))]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(scratch/"home"), "TMPDIR": str(scratch/"tmp"), "LANG": "C.UTF-8",
           "JUPYTER_PATH": str(scratch/"jupyter"), "PIP_CONFIG_FILE": os.devnull, "OMP_NUM_THREADS": "2"}
    cmd = pm if not ISOLATE else ISOLATE + ["sh", "-c", f'ip link set lo up && mount --bind "{inputs}" "{inputs}" && '
                                            f'mount -o remount,ro,bind "{inputs}" "{inputs}" && exec "$@"', "sh"] + pm
    log = open(scratch/"logs"/f"session{n}.log", "w")
    p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    run_dir, killed, t0 = work/"outputs"/RUN, "", time.time()
    while p.poll() is None and time.time() - t0 < TIMEOUT:
        time.sleep(0.2)
        if kill_after and (run_dir/".stages"/f"{kill_after}.json").exists():
            started = [f.stem for f in (run_dir/"nbs").glob("*.ipynb") if f.stem > kill_after and not (run_dir/".stages"/f"{f.stem}.json").exists()]
            if started: kill_tree(p.pid); killed = started[0]; break  # mid-stage: its notebook is being written, its marker is not
    if p.poll() is None and not killed: kill_tree(p.pid)
    p.wait(); log.close()
    text = (scratch/"logs"/f"session{n}.log").read_text()
    if out.exists():
        import nbformat
        text += "\n".join(o.get("text", "") for c in nbformat.read(str(out), as_version=4).cells for o in c.get("outputs", []))
    return p.returncode, killed, text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Kaggle simulation needs Linux (namespaces, venvs)")
def test_kaggle_notebook_offline_resume(tmp_path):
    t0 = time.time(); scratch = tmp_path
    py, img_site, held, missing = make_image(scratch)
    k = scratch/"jupyter"/"kernels"/"python3"; k.mkdir(parents=True)  # the image's kernel, as a notebook server starts it
    (k/"kernel.json").write_text(f'{{"argv": ["{py}", "-m", "ipykernel_launcher", "-f", "{{connection_file}}"], "display_name": "image", "language": "python"}}')
    inputs = scratch/"inputs"; repo = inputs/"spam-llms"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for f in filter(None, files.split("\0")):
        if (ROOT/f).is_file(): (repo/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, repo/f)
    offline_env.repack([h for h in held if h != "spam-llms"], str(inputs/"spam-llms-wheels"), log=lambda s: None)
    data = inputs/"amazon-ml-2025"; data.mkdir()
    shutil.copy(FIX/"amazon2025_train_head132.csv", data/"train.csv"); shutil.copy(FIX/"amazon2025_sample_test.csv", data/"test.csv")
    print(f"set-up {time.time() - t0:.0f} s; image: .venv less {held}; isolation: {ISOLATE or 'none (unshare unavailable): pip --no-index only'}")

    before = snapshot(inputs)
    rc1, killed, log1 = run_session(scratch, py, 1, kill_after="01_preprocess")
    assert snapshot(inputs) == before, "session 1 wrote into its inputs"
    assert killed, f"session 1 ended (rc {rc1}) before the stage after 01_preprocess started:\n{log1[-3000:]}"
    saved = inputs/"spam-llms-kaggle"; shutil.copytree(scratch/"working", saved, symlinks=True)  # Save Version: the working folder
    done1 = sorted(f.stem for f in (saved/"outputs"/RUN/".stages").glob("*.json"))
    shutil.rmtree(scratch/"working")
    before = snapshot(inputs)
    print(f"session 1 killed in {killed} after {time.time() - t0:.0f} s")
    rc2, _, log2 = run_session(scratch, py, 2)
    print("\n".join(l for l in (log1 + log2).splitlines() if l.startswith(("[bootstrap]", "[resume]", "[session]", "[check] missing"))))
    assert rc2 == 0, log2[-4000:]

    # the install: offline, only the missing packages, torch the image's
    for log in (log1, log2):
        assert f"[bootstrap] installing the missing ones from {inputs/'spam-llms-wheels'} (no index: offline)" in log, log[:3000]
        inst = next(l for l in log.splitlines() if l.startswith("[bootstrap] installed in"))
        got = {offline_env._norm(n.split("==")[0]) for n in inst.split(": ", 1)[1].split()}
        assert {offline_env._norm(r.name) for r in missing} <= got <= set(held), inst  # the missing ones, nothing the image has
        assert f"[bootstrap] torch {__import__('torch').__version__} from {img_site} " in log, [l for l in log.splitlines() if "torch" in l]
    # the resume: the saved stages copied back and skipped, the killed one and the rest run, the answer in the working folder
    assert done1 and killed not in done1 and f"finished stages there: {', '.join(done1)}" in log2, (done1, killed)
    for s in done1: assert f"[{s}] complete with these parameters and code, skipped" in log2
    assert f"[{killed}] running" in log2
    sub = pd.read_csv(scratch/"working"/"submission.csv")
    assert list(sub.columns) == ["sample_id", "price"] and len(sub) == len(pd.read_csv(data/"test.csv")) and (sub.price > 0).all()
    assert (scratch/"working"/"outputs"/RUN/".stages"/"06_submission.json").exists()
    # nothing written outside the working folder (and the scratch /tmp, home the session was given)
    assert snapshot(inputs) == before
    assert sorted(p.name for p in (scratch/"working").iterdir()) == ["outputs", "submission.csv"]
    assert sorted(p.name for p in (scratch/"working"/"outputs").iterdir()) == [RUN, "ledger.jsonl", "ledger.lock"]  # the run and the outputs folder's run ledger
    print(f"simulated Kaggle sessions: {time.time() - t0:.0f} s")
