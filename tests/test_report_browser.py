"""The run report in a real browser: headless Chromium opens `report/index.html` of a smoke run from the file system (no
server) and checks that every image decoded (naturalWidth > 0) and every link resolves (an anchor to an element of the
page, a file to a page that loads). .ci/run installs Chromium (Debian package `chromium`)."""
import html, json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--allow-file-access-from-files", "--virtual-time-budget=20000"]

# Beside index.html: a page that frames it, inspects it once everything has loaded, and writes what it found into its own DOM.
CHECK = """<!doctype html><html><body><iframe id="r" src="index.html" width="1200" height="900"></iframe><pre id="result">pending</pre>
<script>
window.addEventListener("load", async () => {
  const d = document.getElementById("r").contentDocument, out = {images: [], links: []};
  for (const im of d.images) out.images.push({src: im.getAttribute("src"), ok: im.complete && im.naturalWidth > 0});
  const loads = href => new Promise(res => { const f = document.createElement("iframe"); f.style.display = "none";
    f.onload = () => { let ok = false; try { ok = !!(f.contentDocument && f.contentDocument.body && f.contentDocument.body.children.length) } catch (e) {} res(ok) };
    f.src = href; document.body.appendChild(f); });
  for (const a of d.querySelectorAll("a[href]")) { const h = a.getAttribute("href");
    out.links.push({href: h, ok: h.startsWith("#") ? !!d.getElementById(h.slice(1)) : await loads(h)}); }
  document.getElementById("result").textContent = JSON.stringify(out);
});
</script></body></html>"""

def browse(report:Path, tmp:Path) -> dict:
    "Open the report in headless Chromium; returns {'images': [{src, ok}], 'links': [{href, ok}]}."
    (report/"_check.html").write_text(CHECK)
    try:
        r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp/'profile'}", "--dump-dom", (report/"_check.html").as_uri()],
                           capture_output=True, text=True, timeout=180)
    finally: (report/"_check.html").unlink()
    m = re.search(r'<pre id="result">(.*?)</pre>', r.stdout, re.S)
    assert m and m.group(1) != "pending", f"Chromium did not finish the check (rc {r.returncode}): {r.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1)))

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    "The report of a smoke chain (the runner, as ./run_all.sh calls it)."
    out = tmp_path_factory.mktemp("outputs")
    env = {**os.environ, "SPAM_LLMS_ROOT": str(ROOT), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "OMP_WAIT_POLICY": "PASSIVE"}
    r = subprocess.run([str(Path(sys.executable).parent/"spam_run"), "--profile", "smoke", "--outputs", str(out), "--run", "b"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out/"b"/"report"

def test_every_image_decodes_and_every_link_resolves(report, tmp_path):
    got = browse(report, tmp_path)
    assert len(got["images"]) >= 8 and all(i["ok"] for i in got["images"]), [i for i in got["images"] if not i["ok"]]
    pages = [l["href"] for l in got["links"] if not l["href"].startswith("#")]
    assert len(pages) >= 8 and all(l["ok"] for l in got["links"]), [l for l in got["links"] if not l["ok"]]   # every executed notebook, linked

def test_the_check_sees_a_missing_figure_and_page(report, tmp_path):
    "The same check on a copy with one figure and one notebook page removed reports exactly those two."
    broken = tmp_path/"report"; shutil.copytree(report, broken)
    (broken/"figures/pred_best.png").unlink(); gone = sorted((broken/"nbs").glob("*.html"))[0]; gone.unlink()
    got = browse(broken, tmp_path)
    assert [i["src"] for i in got["images"] if not i["ok"]] == ["figures/pred_best.png"]
    assert [l["href"] for l in got["links"] if not l["ok"]] == [f"nbs/{gone.name}"]
