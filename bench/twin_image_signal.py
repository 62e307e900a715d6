"""What the twin's images tell about price: is the image path reading them, and how much price is in them?

    .venv/bin/python bench/twin_image_signal.py outputs/default        # a twin run folder (after 02_embed)

On the run's train rows with an image it prints: the visual cue (plain / glossy / gold) predicted from the image block
and from the text block (5-fold logistic regression on 64 PCA components / the text vectors); on the listings whose
pack only the photo shows (`pack_in_text` false), the 5-fold R^2 of the log pack count from each block; and the 5-fold
R^2 of a ridge on the twin's noise-free log price from the image block, the text block and both. A cue or pack read
well from the image with a small price R^2 means the image path works and the twin's pictures carry little price.
Nothing here is a test.
"""
from __future__ import annotations
import argparse
from pathlib import Path
import numpy as np
import pandas as pd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", help="a twin run folder with embeddings/manifest.json and data/oracle.csv")
    a = ap.parse_args(argv)
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import cross_val_predict
    from spam_llms.embed import load_blocks
    run = Path(a.run_dir)
    ids, blocks, has = load_blocks(run/"embeddings"/"manifest.json", "train")
    o = pd.read_csv(run/"data"/"oracle.csv").set_index("sample_id").reindex(ids)[has]
    img, txt, cue, lp = PCA(64, random_state=0).fit_transform(blocks["image"][has]), blocks["text"][has], o.visual_cue.to_numpy(), o.oracle_log_price.to_numpy()
    acc = lambda X: (cross_val_predict(LogisticRegression(max_iter=3000), X, cue, cv=5) == cue).mean()
    r2_ = lambda X, t: 1 - ((cross_val_predict(Ridge(10.0), X, t, cv=5) - t) ** 2).mean() / t.var()
    r2 = lambda X: r2_(X, lp)
    print(f"train rows with an image: {has.sum()} of {len(has)}; cue shares {pd.Series(cue).value_counts(normalize=True).round(3).to_dict()}")
    print(f"cue accuracy from the image block: {acc(img):.3f}; from the text block: {acc(txt):.3f}")
    if "pack_in_text" in o:
        po = ~o.pack_in_text.to_numpy(bool); lp_ = np.log(o.pack_count.to_numpy(float))[po]
        print(f"photo-only packs: {po.sum()} rows; R^2 of the log pack count from the image block {r2_(img[po], lp_):.3f}, from the text block {r2_(txt[po], lp_):.3f}")
    print(f"R^2 of the noise-free log price: image {r2(img):.3f}, text {r2(txt):.3f}, text + image {r2(np.hstack([txt, img])):.3f}")


if __name__ == "__main__": main()
