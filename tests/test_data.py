"The data layer on the real rows and on bad input: every error names file, row and field; nothing half-written."
import os, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from spam_llms.data import read_challenge_csv, load_challenge, download_images, DataError, open_image, resolve_local

HEADER = "sample_id,catalog_content,image_link,price\n"

def write(tmp_path, text, name="train.csv"):
    p = tmp_path/name; p.write_bytes(text if isinstance(text, bytes) else text.encode()); return p

def test_real_rows_read(real_dir):
    tr = read_challenge_csv(real_dir/"amazon2025_train_head132.csv", "train")
    te = read_challenge_csv(real_dir/"amazon2025_sample_test.csv", "test")
    assert len(tr) == 132 and len(te) == 100 and tr.price.gt(0).all()
    assert tr.sample_id.dtype == np.int64 and not tr.catalog_empty.any()
    assert tr.catalog_content.str.contains(r"\nValue: .*\nUnit: .*\n?$").all()
    out = pd.read_csv(real_dir/"amazon2025_sample_test_out.csv")
    assert list(out.columns) == ["sample_id", "price"] and set(out.sample_id) == set(te.sample_id)

@pytest.mark.parametrize("body,msg", [
    ("sample_id,catalog_content,image_link\n1,a,b\n", "missing column(s) ['price']"),
    (HEADER + "1,a,b,2\n1,c,d,3\n", "field sample_id has duplicates, e.g. 1 at rows [1, 2]"),
    (HEADER + "1,a,b,2\n2,c,d,-3\n", "row 2 (sample_id 2): field price='-3' must be a finite number > 0"),
    (HEADER + "1,a,b,0\n", "field price='0'"),
    (HEADER + "1,a,b,nan\n", "field price='nan'"),
    (HEADER + "1,a,b,inf\n", "field price='inf'"),
    (HEADER + "1,a,b,twelve\n", "field price='twelve'"),
    (HEADER + "x1,a,b,2\n", "row 1: field sample_id='x1' is not an id"),
    ("", "file is empty"),
    (HEADER, "header only, no data rows"),
])
def test_bad_train_files(tmp_path, body, msg):
    p = write(tmp_path, body)
    with pytest.raises(DataError) as e: read_challenge_csv(p, "train")
    assert msg in str(e.value) and str(p) in str(e.value)

def test_non_utf8_names_line(tmp_path):
    p = write(tmp_path, (HEADER + "1,ok,b,2\n2,caf\xe9,b,3\n").encode("latin-1"))
    with pytest.raises(DataError, match=r"line 3: byte 0xe9 .* re-save the file as UTF-8"): read_challenge_csv(p)

def test_bom_crlf_extra_columns_empty_catalog(tmp_path):
    p = write(tmp_path, "\ufeff" + HEADER.replace("\n", ",extra\r\n") + '1,"Item Name: a\r\nValue: 1",img,2,z\r\n2,,img2,3,z\r\n')
    with pytest.warns(UserWarning, match="1 row\\(s\\) with empty catalog_content"): df = read_challenge_csv(p)
    assert df.catalog_content.tolist() == ["Item Name: a\nValue: 1", ""] and df.catalog_empty.tolist() == [False, True]

def test_a_train_file_without_prices_is_refused_by_load_challenge(tmp_path):
    "load_challenge reads train.csv as a train file (never guessed from its columns): no price column is an error naming it."
    write(tmp_path, "sample_id,catalog_content,image_link\n1,a,b\n", "train.csv"); write(tmp_path, "sample_id,catalog_content,image_link\n2,a,b\n", "test.csv")
    with pytest.raises(DataError, match=r"train.csv: missing column\(s\) \['price'\] for a train file"): load_challenge(tmp_path)

def test_a_test_file_with_a_blank_price_column_is_still_a_test_file(tmp_path):
    "A test.csv carrying a price column (a truth file, blanks) is read as test: the column is ignored, not validated."
    write(tmp_path, HEADER + "1,a,b,2\n", "train.csv"); write(tmp_path, HEADER + "2,a,b,\n3,c,d,\n", "test.csv")
    tr, te = load_challenge(tmp_path)
    assert te.sample_id.tolist() == [2, 3] and tr.price.tolist() == [2.0]

def test_fields_are_read_verbatim_as_text(tmp_path):
    "Catalogs, links and ids that look like numbers stay text; bare CR line ends become LF; 18-digit ids stay exact."
    p = write(tmp_path, HEADER + '123456789012345678,123,4567,2\n7,"Item Name: a\rValue: 1\rUnit: Count",NaN,3\n8,null,None,4\n')
    df = read_challenge_csv(p)
    assert df.sample_id.tolist() == [123456789012345678, 7, 8] and df.sample_id.dtype == np.int64
    assert df.catalog_content.tolist() == ["123", "Item Name: a\nValue: 1\nUnit: Count", "null"]
    assert df.image_link.tolist() == ["4567", "NaN", "None"] and df.price.tolist() == [2.0, 3.0, 4.0]  # no split given: a priced file is train
    t = read_challenge_csv(write(tmp_path, "sample_id,catalog_content,image_link\n5,a,123\n6\n", "test.csv"))  # a short row: empty fields
    assert t.image_link.iloc[0] == "123"  # a link of digits stays text, also when the next row has none
    assert t.catalog_content.tolist() == ["a", ""] and t.catalog_empty.tolist() == [False, True] and "price" not in t

def test_missing_and_undecodable_files_are_named(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path/'train.csv'}: file not found"): read_challenge_csv(tmp_path/"train.csv")
    p = write(tmp_path, (HEADER + "1,caf\xe9,b,3\n").encode("latin-1"))
    with pytest.raises(DataError, match=f"{p}: line 2: byte 0xe9"): read_challenge_csv(p)

def test_overlapping_ids(tmp_path):
    write(tmp_path, HEADER + "1,a,b,2\n", "train.csv"); write(tmp_path, "sample_id,catalog_content,image_link\n1,a,b\n", "test.csv")
    with pytest.raises(DataError, match="appear in both train.csv and test.csv"): load_challenge(tmp_path)

def test_image_link_outside_folder(tmp_path):
    (tmp_path/"outside.jpg").write_bytes(b"x"); d = tmp_path/"data"; d.mkdir()
    for link in ["../outside.jpg", str(tmp_path/"outside.jpg"), f"file://{tmp_path}/outside.jpg"]:
        with pytest.raises(DataError, match="points outside the data folder"): download_images([link], tmp_path/"store", base_dir=d, progress=False)
    assert not any((tmp_path/"store").iterdir())

def test_unreachable_network_gives_up_fast(tmp_path):
    links = [f"http://127.0.0.1:9/img{i}.jpg" for i in range(200)]
    with pytest.warns(UserWarning, match="network unreachable"): st = download_images(links, tmp_path/"store", progress=False)
    assert st.path.isna().all() and len(st) == 200  # how fast it gives up is measured in bench/bench_preflight.py
    assert (st.status == "network unreachable").sum() == 196  # only the 4 probe links were tried
    assert list((tmp_path/"store").iterdir()) == []

def test_download_resume_and_atomic(tmp_path, monkeypatch):
    "A served image is stored once; a rerun finds it cached; a failing write leaves nothing behind."
    import http.server, threading, functools
    src = tmp_path/"srv"; src.mkdir(); from PIL import Image; Image.new("RGB", (9, 9)).save(src/"a.jpg")
    h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(src))
    h.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h); threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/a.jpg"; missing = url.replace("a.jpg", "nope.jpg")
    try:
        st = download_images([url, missing], tmp_path/"store", progress=False)
        assert st.status.tolist() == ["ok", "http 404"] and open_image(st.path[0])[1] == "ok"
        assert download_images([url], tmp_path/"store", progress=False).status.tolist() == ["cached"]
        import spam_llms.core as core
        def boom(*a, **k): raise OSError("No space left on device")
        monkeypatch.setattr(core.os, "replace", boom)
        with pytest.raises(OSError, match="No space left"):
            download_images([url.replace("a.jpg", "a.jpg?v=2")], tmp_path/"store2", progress=False)
    finally: srv.shutdown()
    assert [p.name for p in (tmp_path/"store2").iterdir()] == []

def test_open_image_bad_inputs(tmp_path):
    from PIL import Image
    Image.new("RGB", (32, 32), "red").save(tmp_path/"ok.png")
    (tmp_path/"trunc.png").write_bytes((tmp_path/"ok.png").read_bytes()[:60]); (tmp_path/"zero.jpg").write_bytes(b"")
    (tmp_path/"text.jpg").write_text("hello"); Image.new("CMYK", (8, 8)).save(tmp_path/"cmyk.jpg"); Image.new("P", (8, 8)).save(tmp_path/"pal.png")
    big = Image.new("1", (10_000, 10_000)); big.save(tmp_path/"big.png")
    assert open_image(tmp_path/"ok.png", 16)[0].size == (16, 16)
    assert open_image(tmp_path/"cmyk.jpg")[0].mode == "RGB" and open_image(tmp_path/"pal.png")[0].mode == "RGB"
    assert open_image(tmp_path/"zero.jpg") == (None, "empty file") and open_image(tmp_path/"missing.jpg") == (None, "missing")
    assert open_image(tmp_path/"text.jpg")[1].startswith("unreadable") and open_image(tmp_path/"trunc.png")[1].startswith("unreadable")
    assert open_image(tmp_path/"big.png")[1] == "too large (10000x10000)"
