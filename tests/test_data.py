"""The bundled vowel data: counts, filters, errors, its checksum, a teacher's own file,
and that it ships in the wheel."""

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gmm_lab.data as data_module
from gmm_lab import VOWELS, load_vowels, vowel_info
from gmm_lab.data import DATA_SHA256, VowelDataError, data_path

ROOT = Path(__file__).resolve().parent.parent


def test_all_tokens_and_152_per_vowel():
    data = load_vowels()
    assert data.X.shape == (1520, 2)
    assert data.X.dtype == np.float64
    ids, counts = np.unique(data.vowel_id, return_counts=True)
    assert ids.tolist() == list(range(1, 11))
    assert counts.tolist() == [152] * 10


def test_speaker_groups_match_the_provenance_table():
    data = load_vowels()
    groups, counts = np.unique(data.speaker_type, return_counts=True)
    assert dict(zip(groups, counts)) == {"C": 300, "M": 660, "W": 560}
    assert len(np.unique(data.speaker)) == 76
    # data/README.md: 321 tokens were not identified unanimously
    assert (~data.agreed).sum() == 321


def test_checksum_matches_data_readme():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    expected = re.search(r"\b([0-9a-f]{64})\b", readme).group(1)
    assert hashlib.sha256(data_path().read_bytes()).hexdigest() == expected


def test_filters_by_label_id_group_and_features():
    by_label = load_vowels(["IY", "ih"], speakers="M", features=("f0", "f1", "f2", "f3"))
    by_id = load_vowels([1, 2], speakers=["m"], features=["f0", "f1", "f2", "f3"])
    assert by_label.X.shape == (132, 4)
    np.testing.assert_array_equal(by_label.X, by_id.X)
    assert set(by_label.vowel) == {"IY", "IH"}
    assert set(by_label.speaker_type) == {"M"}
    # first token of the file: M 1 IY 160 240 2280 2850
    assert by_label.X[0].tolist() == [160, 240, 2280, 2850]


def test_vowel_records_carry_ipa_and_word():
    assert [v.label for v in VOWELS] == "IY IH EH AE AH AA AO UH UW ER".split()
    assert vowel_info("UW").legend == "UW /u/ who'd"
    assert vowel_info(10).word == "heard"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vowels": ["IY", "XX"]}, r"Unknown vowel 'XX'.*1=IY.*10=ER"),
        ({"vowels": [11]}, r"Unknown vowel 11"),
        ({"speakers": "K"}, r"Unknown speaker group 'K'.*M \(men\)"),
        ({"features": ("f1", "f4")}, r"Unknown feature 'f4'.*f0, f1, f2, f3"),
    ],
)
def test_unknown_names_list_the_valid_ones(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_vowels(**kwargs)


def test_wheel_contains_the_data_and_loads_it(tmp_path):
    """Build the wheel, unpack it elsewhere, and load the data from there."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("gmm_lab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert "gmm_lab/_data/peterson_barney_1952.tsv" in names
    assert "gmm_lab/_data/README.md" in names
    script = (
        "import gmm_lab, gmm_lab.data as d; "
        "print(d.data_path()); print(len(gmm_lab.load_vowels()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""},
        capture_output=True, text=True, check=True,
    )
    path, count = result.stdout.split()
    assert Path(path).is_relative_to(tmp_path / "site")
    assert count == "1520"


# ---------------------------------------------------------------------------
# the checksum, and a teacher's own file: one VowelDataError naming file and line

HEADER = "type\tspeaker\tvowel_id\tvowel\tf0\tf1\tf2\tf3\n"
ROWS = [
    "M\t1\t1\tIY\t160\t240\t2280\t2850\n",
    "M\t1\t2\t*IH\t186\t390\t2000\t2700\n",
    "W\t34\t1\tIY\t230\t310\t2790\t3300\n",
    "C\t62\t2\tIH\t260\t530\t2730\t3600\n",
]


def write(tmp_path, text, name="mine.tsv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def test_code_checksum_is_the_one_in_data_readme():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    (recorded,) = re.findall(r"^([0-9a-f]{64})  peterson_barney_1952\.tsv$", readme, re.M)
    assert DATA_SHA256 == recorded


@pytest.fixture
def fresh_bundled_read():
    """Forget the once-per-process read of the bundled file, before and after."""
    data_module._bundled_table.cache_clear()
    yield
    data_module._bundled_table.cache_clear()


def test_a_changed_bundled_file_is_refused_naming_it(tmp_path, monkeypatch, fresh_bundled_read):
    original = data_path().read_bytes()
    # one value changed, as the review did: the first F1, 240 -> 241 (same length)
    changed = original.replace(b"\t240\t2280\t", b"\t241\t2280\t", 1)
    assert changed != original
    copy = write(tmp_path, changed, name="peterson_barney_1952.tsv")
    monkeypatch.setattr(data_module, "data_path", lambda: copy)
    with pytest.raises(VowelDataError, match=r"peterson_barney_1952\.tsv: .*SHA-256") as info:
        load_vowels()
    assert info.value.path == copy and DATA_SHA256 in str(info.value)
    assert hashlib.sha256(changed).hexdigest() in str(info.value)


def test_the_bundled_file_is_read_once_per_process(monkeypatch, fresh_bundled_read):
    reads = []
    real = data_module._read_bytes
    monkeypatch.setattr(data_module, "_read_bytes", lambda path: reads.append(path) or real(path))
    load_vowels(["IY"])
    load_vowels(["IH"], speakers="M")
    assert reads == [data_path()]


def test_own_file_loads_like_the_bundled_one(tmp_path):
    path = write(tmp_path, HEADER + "".join(ROWS))
    data = load_vowels(path=path)
    assert data.X.tolist() == [[240, 2280], [390, 2000], [310, 2790], [530, 2730]]
    assert data.vowel.tolist() == ["IY", "IH", "IY", "IH"]
    assert data.agreed.tolist() == [True, False, True, True]
    assert data.speaker_type.tolist() == ["M", "M", "W", "C"]
    men_iy = load_vowels("IY", speakers="M", features=("f0", "f3"), path=str(path))
    assert men_iy.X.tolist() == [[160, 2850]]


def test_own_file_may_have_crlf_a_bom_decimals_and_a_trailing_blank_line(tmp_path):
    text = (HEADER + "M\t1\t1\tIY\t160.\t240.5\t2280\t2850\n\n").replace("\n", "\r\n")
    path = write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert load_vowels(path=path).X.tolist() == [[240.5, 2280]]


def test_the_bundled_file_parses_to_what_a_csv_reader_reads():
    """Independent reference: the standard library's csv module."""
    import csv

    with open(data_path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    data = load_vowels(features=("f0", "f1", "f2", "f3"))
    assert data.X.tolist() == [[float(r[f]) for f in ("f0", "f1", "f2", "f3")] for r in rows]
    assert data.vowel.tolist() == [r["vowel"].lstrip("*") for r in rows]
    assert data.speaker.tolist() == [int(r["speaker"]) for r in rows]


@pytest.mark.parametrize(
    "content, line, message",
    [
        ("", None, r"the file is empty; expected the header 'type\\tspeaker"),
        ("\n\n", None, r"the file is empty"),
        (HEADER, None, r"has a header but no data rows"),
        # truncated in the middle of the last row
        (HEADER + ROWS[0] + "M\t1\t2\tIH\t18", 3,
         r"expected 8 tab-separated fields .*got 5 \(the file ends here: is it truncated\?\)"),
        (HEADER.replace("\t", ","), 1, r"separated by commas; expected tabs"),
        (HEADER.replace("\t", ";") + ROWS[0], 1, r"separated by semicolons"),
        (HEADER + ROWS[0].replace("\t", ","), 2, r"got 1 \(the fields seem separated by commas"),
        (HEADER.replace("f1", "F1x"), 1, r"expected the header 'type\\tspeaker.*got 'type"),
        (HEADER.replace("\tf3", ""), 1, r"expected the header"),
        (HEADER + ROWS[0] + ROWS[1].replace("390", "abc"), 3,
         r"column 'f1': expected a frequency in Hz \(a finite number > 0\), got 'abc'"),
        (HEADER + ROWS[0].replace("2280", ""), 2, r"column 'f2': .*got ''"),
        (HEADER + ROWS[0].replace("2280", "nan"), 2, r"column 'f2': .*got 'nan'"),
        (HEADER + ROWS[0].replace("2280", "inf"), 2, r"column 'f2': .*got 'inf'"),
        (HEADER + ROWS[0].replace("2280", "-5"), 2, r"column 'f2': .*got '-5'"),
        (HEADER + ROWS[0].replace("\t1\t1\t", "\t1\t11\t"), 2,
         r"column 'vowel_id': expected a whole number 1\.\.10, got '11'"),
        (HEADER + ROWS[0].replace("\t1\t1\t", "\tx\t1\t"), 2,
         r"column 'speaker': expected a whole number >= 1, got 'x'"),
        (HEADER + ROWS[0].replace("M", "X"), 2, r"column 'type': expected M, W or C"),
        (HEADER + ROWS[0].replace("IY", "IH"), 2,
         r"column 'vowel': expected IY \(vowel_id 1\), optionally marked '\*', got 'IH'"),
        (HEADER + ROWS[0] + "\n" + ROWS[1], 3, r"expected 8 tab-separated fields .*got 1"),
        (HEADER.encode() + b"M\t1\t1\tIY\t160\t240\t2280\t28\xff0\n", 2, r"is not UTF-8 text"),
    ],
)
def test_a_bad_own_file_gives_one_error_naming_file_and_line(tmp_path, content, line, message):
    path = write(tmp_path, content)
    with pytest.raises(VowelDataError, match=message) as info:
        load_vowels(path=path)
    where = f"{path}" if line is None else f"{path}, line {line}:"
    assert str(info.value).startswith(where), str(info.value)
    assert info.value.line == line and info.value.path == path
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.tsv", r"missing\.tsv: no such file"),
    (lambda tmp: tmp, r"is a folder, not a data file"),
    (lambda tmp: tmp / "a_file" / "below.tsv", r"below\.tsv: cannot be read"),
])
def test_an_unreadable_own_file_gives_one_error_naming_it(tmp_path, make, message):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(VowelDataError, match=message):
        load_vowels(path=make(tmp_path))


def test_a_selection_with_no_tokens_names_the_file_and_what_it_has(tmp_path):
    path = write(tmp_path, HEADER + ROWS[0])
    with pytest.raises(VowelDataError, match=r"no tokens match the selection \(vowels UW, "
                                             r"speakers all\); the file has vowels IY and "
                                             r"speaker groups M"):
        load_vowels("UW", path=path)


@pytest.mark.parametrize("kwargs, message", [
    ({"vowels": 1.0}, r"Unknown vowel 1\.0"),
    ({"vowels": b"IY"}, r"Unknown vowel b'IY'"),
    ({"features": None}, r"features is None"),
])
def test_odd_arguments_get_a_message_not_a_type_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_vowels(**kwargs)
