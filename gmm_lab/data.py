"""The Peterson & Barney (1952) vowel formants that ship with gmm_lab.

76 speakers (33 men, 28 women, 15 children) said ten /hVd/ words twice;
each of the 1520 tokens has F0 and the formants F1, F2, F3 in Hz. The
provenance and checksum of the file are in ``data/README.md``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np

__all__ = [
    "VOWELS",
    "Vowel",
    "VowelData",
    "SPEAKER_GROUPS",
    "FEATURES",
    "load_vowels",
    "vowel_info",
]

DATA_FILE_NAME = "peterson_barney_1952.tsv"


class Vowel(NamedTuple):
    """One of the ten vowels: its id, ARPABET label, IPA symbol and /hVd/ word."""

    id: int
    label: str
    ipa: str
    word: str

    @property
    def legend(self) -> str:
        """'IY /i/ heed': how plots name the vowel."""
        return f"{self.label} /{self.ipa}/ {self.word}"


VOWELS = (
    Vowel(1, "IY", "i", "heed"),
    Vowel(2, "IH", "ɪ", "hid"),
    Vowel(3, "EH", "ɛ", "head"),
    Vowel(4, "AE", "æ", "had"),
    Vowel(5, "AH", "ʌ", "hud"),
    Vowel(6, "AA", "ɑ", "hod"),
    Vowel(7, "AO", "ɔ", "hawed"),
    Vowel(8, "UH", "ʊ", "hood"),
    Vowel(9, "UW", "u", "who'd"),
    Vowel(10, "ER", "ɝ", "heard"),
)
_VOWEL_BY_LABEL = {vowel.label: vowel for vowel in VOWELS}
_VOWEL_BY_ID = {vowel.id: vowel for vowel in VOWELS}

SPEAKER_GROUPS = {"M": "men", "W": "women", "C": "children"}
FEATURES = ("f0", "f1", "f2", "f3")
FEATURE_NAMES = {
    "f0": "F0 (fundamental)",
    "f1": "F1",
    "f2": "F2",
    "f3": "F3",
}


@dataclass(frozen=True, eq=False)
class VowelData:
    """A selection of vowel tokens: the feature matrix and what each row is.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Frequencies in Hz, float64, columns in the order of ``features``.
    features : tuple of str
        Column names of X, e.g. ('f1', 'f2').
    vowel_id : ndarray of shape (n_samples,)
        Vowel number 1..10 of each token.
    vowel : ndarray of shape (n_samples,)
        ARPABET label of each token ('IY', 'IH', ...), without the '*' marker.
    speaker_type : ndarray of shape (n_samples,)
        'M' (man), 'W' (woman) or 'C' (child).
    speaker : ndarray of shape (n_samples,)
        Speaker number 1..76.
    agreed : ndarray of shape (n_samples,), bool
        True when all listeners identified the token as the intended vowel
        (the source file marks the others with '*').
    """

    X: np.ndarray
    features: tuple
    vowel_id: np.ndarray
    vowel: np.ndarray
    speaker_type: np.ndarray
    speaker: np.ndarray
    agreed: np.ndarray

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def vowels(self) -> tuple:
        """The distinct vowels in this selection, as :class:`Vowel` records."""
        return tuple(_VOWEL_BY_ID[i] for i in np.unique(self.vowel_id))

    def __repr__(self) -> str:
        labels = " ".join(v.label for v in self.vowels)
        groups = "".join(g for g in SPEAKER_GROUPS if g in set(self.speaker_type))
        return (
            f"VowelData({len(self)} tokens, vowels {labels}, speakers {groups}, "
            f"features {', '.join(self.features)})"
        )


def data_path() -> Path:
    """Path of the bundled data file.

    In an installed wheel the file lives in ``gmm_lab/_data/``; in a source
    checkout (editable install) it is the project's ``data/`` folder.
    """
    packaged = resources.files("gmm_lab") / "_data" / DATA_FILE_NAME
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "data" / DATA_FILE_NAME


@lru_cache(maxsize=1)
def _read_table() -> dict:
    with open(data_path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    labels = [row["vowel"] for row in rows]
    table = {
        "speaker_type": np.array([row["type"] for row in rows]),
        "speaker": np.array([int(row["speaker"]) for row in rows]),
        "vowel_id": np.array([int(row["vowel_id"]) for row in rows]),
        "vowel": np.array([label.lstrip("*") for label in labels]),
        "agreed": np.array([not label.startswith("*") for label in labels]),
    }
    for feature in FEATURES:
        table[feature] = np.array([float(row[feature]) for row in rows])
    for array in table.values():
        array.flags.writeable = False
    return table


def vowel_info(vowel) -> Vowel:
    """Look up a vowel by id (1..10) or label ('IY', case-insensitive).

    Raises
    ------
    ValueError
        Naming the valid ids and labels when ``vowel`` is neither.
    """
    if isinstance(vowel, Vowel):
        return vowel
    if isinstance(vowel, (int, np.integer)) and not isinstance(vowel, bool):
        if int(vowel) in _VOWEL_BY_ID:
            return _VOWEL_BY_ID[int(vowel)]
    elif isinstance(vowel, str) and vowel.strip().upper() in _VOWEL_BY_LABEL:
        return _VOWEL_BY_LABEL[vowel.strip().upper()]
    valid = ", ".join(f"{v.id}={v.label}" for v in VOWELS)
    raise ValueError(
        f"Unknown vowel {vowel!r}. Use an id 1..10 or a label: {valid}."
    )


def _as_list(value) -> list:
    if isinstance(value, (str, int, np.integer, Vowel)):
        return [value]
    return list(value)


def _check_speakers(speakers: Iterable) -> list:
    groups = []
    for group in _as_list(speakers):
        key = str(group).strip().upper()
        if key not in SPEAKER_GROUPS:
            valid = ", ".join(f"{k} ({v})" for k, v in SPEAKER_GROUPS.items())
            raise ValueError(f"Unknown speaker group {group!r}. Use one of {valid}.")
        groups.append(key)
    return groups


def _check_features(features: Iterable) -> tuple:
    names = []
    for feature in _as_list(features):
        key = str(feature).strip().lower()
        if key not in FEATURES:
            raise ValueError(
                f"Unknown feature {feature!r}. Use any of {', '.join(FEATURES)} "
                "(F0 and the first three formants, in Hz)."
            )
        names.append(key)
    if not names:
        raise ValueError(f"features is empty. Use one or more of {', '.join(FEATURES)}.")
    return tuple(names)


def load_vowels(vowels=None, speakers=None, features=("f1", "f2")) -> VowelData:
    """Load the bundled Peterson & Barney tokens, filtered.

    Parameters
    ----------
    vowels : int, str or sequence of them, default=None
        Vowel ids (1..10) or labels ('IY', 'IH', ...); None keeps all ten.
    speakers : str or sequence of str, default=None
        Speaker groups 'M' (men), 'W' (women), 'C' (children); None keeps all.
    features : sequence of str, default=('f1', 'f2')
        Columns of X, from 'f0', 'f1', 'f2', 'f3' (Hz).

    Returns
    -------
    VowelData
        ``X`` of shape (n_samples, len(features)) in Hz, and per-row
        ``vowel_id``, ``vowel``, ``speaker_type``, ``speaker``, ``agreed``.
        Rows keep the file's order (speaker, then vowel, then repetition).

    Examples
    --------
    >>> data = load_vowels(["IY", "IH"], speakers="M")
    >>> data.X.shape
    (132, 2)
    """
    table = _read_table()
    feature_names = _check_features(features)
    keep = np.ones(table["vowel_id"].shape[0], dtype=bool)
    if vowels is not None:
        ids = [vowel_info(v).id for v in _as_list(vowels)]
        if not ids:
            raise ValueError("vowels is empty. Pass None for all ten vowels.")
        keep &= np.isin(table["vowel_id"], ids)
    if speakers is not None:
        groups = _check_speakers(speakers)
        if not groups:
            raise ValueError("speakers is empty. Pass None for all speakers.")
        keep &= np.isin(table["speaker_type"], groups)
    X = np.column_stack([table[name][keep] for name in feature_names])
    return VowelData(
        X=X,
        features=feature_names,
        vowel_id=table["vowel_id"][keep],
        vowel=table["vowel"][keep],
        speaker_type=table["speaker_type"][keep],
        speaker=table["speaker"][keep],
        agreed=table["agreed"][keep],
    )
