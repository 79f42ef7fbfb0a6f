"""The bundled vowel data: counts, filters, errors, and that it ships in the wheel."""

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gmm_lab import VOWELS, load_vowels, vowel_info
from gmm_lab.data import data_path

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
