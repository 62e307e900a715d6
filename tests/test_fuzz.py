"""Property-based fuzzing (Hypothesis) of the CSV reader, the catalog parser and the unit/quantity parser, on generated and
mutated REAL rows (tests/fixtures/realdata): random bytes, cut files, odd Unicode, huge fields, id spellings.
Properties: the reader raises nothing but `DataError`, the parsers raise nothing; the same input gives the same output; what
the reader accepts keeps every id of the file, in order. Derandomized (a fixed seed per test) and sized to stay well under 60 s."""
import csv, io, math, warnings
from pathlib import Path
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from spam_llms.data import DataError, read_challenge_csv
from spam_llms.preprocess import parse_catalog
from spam_llms.units import canonical_unit, extract_quantities

REAL = Path(__file__).parent/"fixtures"/"realdata"
csv.field_size_limit(2**31 - 1)
ROWS = list(csv.reader(open(REAL/"amazon2025_train_head132.csv", newline="", encoding="utf-8")))
HEADER, ROWS = ROWS[0], ROWS[1:]
CATALOGS = [r[1] for r in ROWS]
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
ODD = ["12.0", "-5", "1.5", "", " ", "NaN", "nan", "inf", "$12.99", "1,234.50", "0", "-0.0", "1e3", "\x00", '"', "\n", "\r", ";", "\ufeff",
       "\u202e", "𝟙𝟚", "٣", "12\u00a0", "Item Name: x\nValue: 3\nUnit: oz"]
field = st.one_of(st.sampled_from(ODD), st.text(max_size=40), st.text(st.characters(codec="utf-8"), max_size=40), st.just("x" * 50_000))


@st.composite
def mutated_csv(draw) -> bytes:
    "Real train rows, some fields replaced by odd values, then maybe cut, spliced with random bytes or re-encoded."
    rows = [list(ROWS[i]) for i in draw(st.lists(st.integers(0, len(ROWS) - 1), min_size=1, max_size=6, unique=True))]
    for _ in range(draw(st.integers(0, 3))): rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, 3))] = draw(field)
    head = list(HEADER)
    if draw(st.integers(0, 9)) == 0: head[draw(st.integers(0, 3))] = draw(st.sampled_from(HEADER + ["", "Price", "id"]))
    buf = io.StringIO(); w = csv.writer(buf); w.writerow(head); w.writerows(rows); raw = buf.getvalue().encode("utf-8", "surrogatepass")
    kind = draw(st.sampled_from(["as is", "as is", "cut", "bytes", "utf-16", "crlf"]))
    if kind == "cut": raw = raw[:draw(st.integers(0, len(raw)))]
    elif kind == "bytes": p = draw(st.integers(0, len(raw))); raw = raw[:p] + draw(st.binary(min_size=1, max_size=16)) + raw[p:]
    elif kind == "utf-16": raw = raw.decode("utf-8", "replace").encode("utf-16")
    elif kind == "crlf": raw = raw.replace(b"\n", b"\r\n")
    return raw


def _read(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_challenge_csv(f, "train")


@settings(FUZZ, max_examples=200)
@given(raw=mutated_csv())
def test_csv_reader(tmp_path_factory, raw):
    f = tmp_path_factory.mktemp("fuzz")/"train.csv"; f.write_bytes(raw)
    try: a = _read(f)
    except DataError: return  # the only refusal allowed: a message naming file, row and field
    pd.testing.assert_frame_equal(a, _read(f))  # stable
    ids = [r[0] for r in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")) if r][1:]
    assert a.sample_id.tolist() == [int(i) for i in ids]  # every id kept, in order, none invented
    assert (a.price > 0).all() and a.price.map(math.isfinite).all()


def _same(a, b) -> bool: return repr(a) == repr(b)  # NaN-aware equality of nested results


@st.composite
def mutated_catalog(draw) -> str:
    "A real catalog, a generated one, or a real one with a line replaced, inserted or cut."
    text = draw(st.sampled_from(CATALOGS)); kind = draw(st.sampled_from(["real", "text", "line", "cut", "key"]))
    if kind == "text": return draw(st.text(max_size=300))
    lines = text.split("\n"); i = draw(st.integers(0, len(lines)))
    if kind == "line": lines[i:i + 1] = [draw(field)]
    elif kind == "key": lines.insert(i, draw(st.sampled_from(["Value:", "Value: abc", "Value: 1e999", "Unit:", "Unit: Fl Oz", "Item Name:", "Bullet Point 9:", "::", "Value: -3"])) + draw(st.text(max_size=10)))
    elif kind == "cut": return text[:draw(st.integers(0, len(text)))]
    return "\n".join(lines)


@settings(FUZZ, max_examples=300)
@given(text=mutated_catalog())
def test_catalog_parser(text):
    a = parse_catalog(text)
    assert _same(a, parse_catalog(text)) and set(a) == {"item_name", "bullets", "description", "value", "unit", "extra"}
    assert isinstance(a["value"], float) and isinstance(a["item_name"], str) and all(isinstance(b, str) for b in a["bullets"])


@settings(FUZZ, max_examples=300)
@given(name=st.one_of(st.sampled_from([parse_catalog(t)["item_name"] for t in CATALOGS]), st.text(max_size=120), field),
       bullets=st.lists(st.one_of(st.text(max_size=60), st.sampled_from(ODD)), max_size=3),
       unit=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["Fl Oz", "ct", "gramm", "Ounce", "lbs", "ml", "None", "°C", "1/0"])))
def test_unit_and_quantity_parser(name, bullets, unit):
    q = extract_quantities(name, bullets)
    assert _same(q, extract_quantities(name, bullets))
    assert all(isinstance(v, (float, str)) for v in q.values())
    assert math.isnan(q["total_qty"]) or q["total_qty"] >= 0, q
    c = canonical_unit(unit)
    assert c == canonical_unit(unit) and isinstance(c[0], str) and c[1] in {"mass", "volume", "count", "Others"}
