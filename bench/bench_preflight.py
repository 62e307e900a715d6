"""Time the refusals: seconds from the command (`./run_all.sh ...`, bootstrap included) to the error, for the bad inputs
the runner refuses before any stage runs; and how fast `download_images` gives up on an unreachable network.

    .venv/bin/python bench/bench_preflight.py                       # every case, smoke profile, outputs in a temp folder
    .venv/bin/python bench/bench_preflight.py --out bench/preflight.json

A case passes when the command ends without starting a stage ("[NN_stage] running" never printed) and without a Python
traceback. The goal (issue 37) is under 5 s per refusal; the numbers depend on the machine and what else runs on it, so
they are recorded here, never asserted in tests (the tests, tests/test_preflight.py, assert the messages).
"""
from __future__ import annotations
import argparse, csv, json, os, platform, shlex, shutil, signal, subprocess, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT/"tests"/"fixtures"/"realdata"
CASES = [  # name, arguments (DATA/... is a data folder built below)
    ("epochs_neg", "--set 03_towers_cv.epochs=-1"), ("n_folds_1", "--set 01_preprocess.n_folds=1"),
    ("text_encoder_missing", "--set 02_embed.text_encoder=nobody/no-such-model"), ("outputs_proc", "--outputs /proc/x"),
    ("seed_neg", "--seed -3"), ("dup_price_column", "--data DATA/dupcol"), ("image_outside_data", "--data DATA/outside"),
    ("image_missing", "--data DATA/missingimg"), ("dropout_1.5", "--set 03_towers_cv.dropout=1.5"), ("sparse_lr_0", "--set 04b_sparse_mlp.lr=0"),
    ("finetune_model_missing", "--stages 03b_finetune --set 03b_finetune.model_name=nobody/no-such-model"),
    ("towers_loss_bogus", "--set 03_towers_cv.loss=bogus"), ("lgbm_num_leaves_1", "--set 04_lgbm_baseline.num_leaves=1"),
    ("blend_mode_bogus", "--set 06_submission.blend_mode=nonsense"), ("batch_size_0", "--set 03_towers_cv.batch_size=0"),
]


def data_folders(d:Path) -> None:
    "Real head rows with a duplicated price column, an image path outside the folder, a missing local image."
    rows = list(csv.reader(open(REAL/"amazon2025_train_head132.csv", newline="", encoding="utf-8")))
    edits = {"dupcol": (rows[0] + ["price"], lambda r: r + ["1.0"]), "outside": (rows[0], lambda r: r[:2] + ["../../etc/passwd"] + r[3:]),
             "missingimg": (rows[0], lambda r: r[:2] + ["images/nope.jpg"] + r[3:])}
    for name, (head, edit) in edits.items():
        (d/name).mkdir(parents=True)
        with open(d/name/"train.csv", "w", newline="", encoding="utf-8") as f: w = csv.writer(f); w.writerow(head); w.writerows(edit(r) for r in rows[1:])
        shutil.copy(REAL/"amazon2025_sample_test.csv", d/name/"test.csv")


def refusal(args:list[str], out:Path) -> dict:
    "Run one command; stop it as soon as a stage starts; seconds to the end, whether a stage started, the last line."
    cmd = ["./run_all.sh", "--profile", "smoke", "--run", "preflight"] + args + ([] if "--outputs" in args else ["--outputs", str(out)])
    t0 = time.time(); p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines, started = [], False
    for line in p.stdout:
        lines.append(line.rstrip())
        if "] running" in line: started = True; os.killpg(p.pid, signal.SIGKILL); break
    p.wait(); said = [l for l in lines if l.strip() and not l.startswith("WARNING: Location")]
    return {"seconds": round(time.time() - t0, 2), "before_any_stage": not started, "traceback": any("Traceback" in l for l in lines), "message": said[-2:]}


def network_giveup(n:int=200) -> float:
    "Seconds `download_images` takes to give up on n links of an unreachable host."
    from spam_llms.data import download_images
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore"); t0 = time.time(); download_images([f"http://127.0.0.1:9/{i}.jpg" for i in range(n)], Path(d)/"s", progress=False)
        return round(time.time() - t0, 2)


def unmachine(line:str, tmp:str) -> str:
    "A refusal message as published: the scratch folder as <tmp>, the home folder as ~, the checkout as '.'."
    return line.replace(tmp, "<tmp>").replace(str(ROOT), ".").replace(str(Path.home()), "~")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args(); want = set(a.cases.split(",")) - {""}
    res = {"machine": f"{platform.node()} {os.cpu_count()} cores", "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data_folders(Path(tmp)/"data")
        for name, args in CASES:
            if want and name not in want: continue
            r = refusal([x.replace("DATA", str(Path(tmp)/"data")) for x in shlex.split(args)], Path(tmp)/"out")
            r["message"] = [unmachine(m, tmp) for m in r["message"]]; res["cases"][name] = r  # published: no machine paths
            print(f"{name:24s} {r['seconds']:6.2f} s  before any stage: {r['before_any_stage']}  traceback: {r['traceback']}  | {r['message'][-1][:110] if r['message'] else ''}", flush=True)
    n = sum(r["before_any_stage"] and not r["traceback"] for r in res["cases"].values())
    res["refused_before_any_stage"] = f"{n} of {len(res['cases'])}"; res["max_seconds"] = max((r["seconds"] for r in res["cases"].values()), default=None)
    res["network_giveup_seconds_200_links"] = network_giveup()
    print(f"refused before any stage, without a traceback: {res['refused_before_any_stage']}; slowest {res['max_seconds']} s; "
          f"download_images gives up on 200 unreachable links in {res['network_giveup_seconds_200_links']} s")
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__": main()
