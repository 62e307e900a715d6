"""Disk per 1,000 images in the image store, originals against images stored with their longest side cut (`max_side`).

    .venv/bin/python bench/bench_image_store.py --out bench/image_store.json       # 1,000 twin images drawn at 1,700 px

Draws `--n` twin images at `--side` px (the challenge's product photos are ~1,700 x 1,850 px, ~294 KB each), serves
them from a local HTTP server and fetches them twice through `data.download_images`: as they are (`max_side` 0, the
store before) and with `--max-side` (the store now: re-encoded JPEG). The twin's drawings are flat colours and text on
a plain background, so they compress far better than photos; as a photo reference the two photographs bundled with
scikit-learn (china.jpg, flower.jpg, 640 x 427) are stored the same way. The 150k estimate multiplies each per-image
size by the challenge's 150,000 images. Nothing here is a test; sizes depend only on the images and the JPEG encoder.
"""
from __future__ import annotations
import argparse, functools, http.server, json, shutil, tempfile, threading
from pathlib import Path
from spam_llms.data import download_images, shrink_image
from spam_llms.synth import make_challenge_data

N_CHALLENGE_IMAGES = 150_000  # 75k train + 75k test links


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


def store_bytes(folder:Path, max_side:int) -> tuple[int, int]:
    "Fetch every file of `folder` over a local HTTP server into a fresh store; (files stored, bytes on disk)."
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    store = Path(tempfile.mkdtemp())
    try:
        links = [f"http://127.0.0.1:{srv.server_address[1]}/{f.name}" for f in sorted(folder.iterdir())]
        st = download_images(links, store, progress=False, max_side=max_side, workers=4)
    finally: srv.shutdown()
    ok = int((st.status == "ok").sum()); size = sum(f.stat().st_size for f in store.iterdir())
    shutil.rmtree(store); return ok, size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="twin images to draw")
    ap.add_argument("--side", type=int, default=1700, help="side the twin draws its images at (the challenge's photos: ~1,700 px)")
    ap.add_argument("--max-side", type=int, default=512, help="longest side kept in the store (02_embed.image_store_side)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp())
    make_challenge_data(work/"twin", n_train=a.n, n_test=1, seed=0, image_size=a.side, progress=False)
    imgs = work/"twin"/"images"; n = len(list(imgs.iterdir()))
    res = {"twin_images": n, "drawn_side": a.side, "max_side": a.max_side}
    for key, side in (("before", 0), ("after", a.max_side)):
        ok, size = store_bytes(imgs, side); assert ok == n, (key, ok, n)
        res[f"{key}_mb_per_1000"] = round(size / n * 1000 / 1e6, 2)
        res[f"{key}_gb_150k"] = round(size / n * N_CHALLENGE_IMAGES / 1e9, 2)
    try:
        import sklearn.datasets
        photos = sorted((Path(sklearn.datasets.__file__).parent/"images").glob("*.jpg"))
        kb = [len(shrink_image(p.read_bytes(), a.max_side)) / 1e3 for p in photos]
        res["photo_kb_at_max_side"] = {p.name: round(k, 1) for p, k in zip(photos, kb)}
        res["photo_gb_150k"] = round(max(kb) * N_CHALLENGE_IMAGES / 1e6, 1)
    except ImportError: pass
    shutil.rmtree(work)
    print(json.dumps(res, indent=1))
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__": main()
