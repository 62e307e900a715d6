#!/usr/bin/env python
"""Rebuild the real dev set (`amazon2025_dev`: 5,586 train + 1,396 test rows with their true prices) from the official
Amazon ML Challenge 2025 `train.csv`, so that the README's real-data numbers can be reproduced by anyone holding it.

    python scripts/make_devset.py PATH/TO/official/train.csv OUT_DIR
    ./run_all.sh --data OUT_DIR --profile real --run v_real

The rows are chosen by scripts/devset/amazon2025_dev_ids.csv (`sample_id,split`: train or test, in the files' row
order), drawn at random from the first ~8,700 rows of the official train.csv. OUT_DIR gets the challenge format:
train.csv (sample_id, catalog_content, image_link, price), test.csv (the same without price) and test_truth.csv
(sample_id, price). Values are copied as text, never parsed, and written as Python's csv module writes them (CRLF row
ends, fields quoted only where needed), so the files are byte for byte the dev set the results were measured on.
"""
import argparse, os, sys
from pathlib import Path
import pandas as pd

IDS = Path(__file__).resolve().parent/"devset"/"amazon2025_dev_ids.csv"
COLUMNS = ["sample_id", "catalog_content", "image_link", "price"]

def make_devset(official, # the official train.csv
                out_dir, # where train.csv, test.csv and test_truth.csv go
                ids=IDS, # sample_id,split in row order
               ) -> dict:
    "Write the dev set's three files from the official train.csv; returns the row count of each."
    src = pd.read_csv(official, dtype=str, keep_default_na=False)
    miss = [c for c in COLUMNS if c not in src.columns]
    if miss: raise ValueError(f"{official}: lacks column(s) {miss}; expected the official train.csv with {COLUMNS}")
    dup = src.sample_id[src.sample_id.duplicated()]
    if len(dup): raise ValueError(f"{official}: sample_id {dup.iloc[0]} appears more than once")
    want = pd.read_csv(ids, dtype=str); bad = sorted(set(want.split) - {"train", "test"})
    if bad: raise ValueError(f"{ids}: split must be train or test, got {bad}")
    rows = src.set_index("sample_id", drop=False); absent = want.sample_id[~want.sample_id.isin(rows.index)]
    if len(absent): raise ValueError(f"{official}: {len(absent)} sample_id(s) of the dev set are missing, e.g. {absent.iloc[0]}; is this the official train.csv?")
    pick = lambda s: rows.loc[want.sample_id[want.split == s]].reset_index(drop=True)
    tr, te, out = pick("train"), pick("test"), Path(out_dir); out.mkdir(parents=True, exist_ok=True)
    files = {"train.csv": tr[COLUMNS], "test.csv": te[COLUMNS[:3]], "test_truth.csv": te[["sample_id", "price"]]}
    for name, df in files.items():
        tmp = out/f".{name}.tmp"; df.to_csv(tmp, index=False, lineterminator="\r\n"); os.replace(tmp, out/name)
    return {name: len(df) for name, df in files.items()}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("official", help="the official train.csv of the Amazon ML Challenge 2025")
    ap.add_argument("out_dir", help="output folder (created)")
    ap.add_argument("--ids", default=str(IDS), help="sample_id,split file (default: the committed dev set's)")
    a = ap.parse_args()
    try: n = make_devset(a.official, a.out_dir, a.ids)
    except (ValueError, FileNotFoundError) as e: print(f"ERROR: {e}", file=sys.stderr); sys.exit(1)
    print(f"wrote {a.out_dir}: " + ", ".join(f"{k} {v:,} rows" for k, v in n.items()))
