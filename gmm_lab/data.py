"""The Peterson & Barney (1952) vowel formants that ship with gmm_lab.

76 speakers (33 men, 28 women, 15 children) said ten /hVd/ words twice;
each of the 1520 tokens has F0 and the formants F1, F2, F3 in Hz. The
provenance and checksum of the file are in ``data/README.md``; the
checksum is verified the first time the file is read in a process.

A teacher's own file in the same format (tab-separated, the header
``type speaker vowel_id vowel f0 f1 f2 f3``) loads with
``load_vowels(..., path="my_vowels.tsv")``; anything wrong with it raises
one :class:`VowelDataError` that names the file, the line and what was
expected there.
"""

from __future__ import annotations

import hashlib
import math
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
    "VowelDataError",
    "SPEAKER_GROUPS",
    "FEATURES",
    "load_vowels",
    "vowel_info",
]

DATA_FILE_NAME = "peterson_barney_1952.tsv"
#: SHA-256 of the bundled file, as recorded in data/README.md (a test keeps
#: the two equal). Checked once per process, when the file is first read.
DATA_SHA256 = "e00089fa50860c78a220760c9ec0a558ab466947224e46ca9f7852b1557aac1c"


class VowelDataError(ValueError):
    """A vowel data file is missing, damaged or not in the bundled file's format.

    The message names the file and, where the problem is on one line, that
    line (1-based, the header is line 1) and what was expected there.

    Attributes
    ----------
    path : pathlib.Path
        The file that was read.
    line : int or None
        The offending line, or None when the problem is the whole file.
    """

    def __init__(self, path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        return type(self), (self.path, self.message, self.line)


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


# ---------------------------------------------------------------------------
# reading a data file: one VowelDataError, naming file and line, for any fault

_COLUMNS = ("type", "speaker", "vowel_id", "vowel") + FEATURES
_EXPECTED_HEADER = "\t".join(_COLUMNS)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise VowelDataError(path, "no such file. Check the path (relative paths start "
                                   f"from the current folder, {Path.cwd()}).") from None
    except IsADirectoryError:
        raise VowelDataError(path, "is a folder, not a data file.") from None
    except OSError as error:
        raise VowelDataError(path, f"cannot be read: {error.strerror or error}.") from None


def _check_checksum(path: Path, content: bytes, expected: str) -> None:
    """Raise VowelDataError unless sha256(content) is ``expected``."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise VowelDataError(
            path,
            f"the bundled data file has been changed or damaged: its SHA-256 is {actual}, "
            f"but data/README.md records {expected}. Reinstall gmm_lab (or restore the "
            "file from git); to use data of your own, pass path= to load_vowels.",
        )


def _number(path, line_number, column, text, *, integer, low, high=math.inf):
    """Parse one field; the message says which column, what it expects, what came."""
    if integer:
        expected = (f"a whole number {low}..{high}" if high < math.inf
                    else f"a whole number >= {low}")
    else:
        expected = "a frequency in Hz (a finite number > 0)"
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or not (math.isfinite(value) and low <= value <= high) or (
            not integer and value <= 0):
        raise VowelDataError(path, f"column {column!r}: expected {expected}, got {text!r}.",
                             line_number)
    return value


def _split_header(path: Path, header: str) -> None:
    names = [name.strip().lower() for name in header.split("\t")]
    if len(names) == 1:
        for delimiter, described in ((",", "commas"), (";", "semicolons"),
                                     (" ", "spaces")):
            if delimiter in header.strip():
                raise VowelDataError(
                    path, f"columns are separated by {described}; expected tabs. "
                    f"Expected the header {_EXPECTED_HEADER!r}, got {header!r}.", 1)
    if tuple(names) != _COLUMNS:
        raise VowelDataError(
            path, f"expected the header {_EXPECTED_HEADER!r} ({len(_COLUMNS)} tab-separated "
            f"column names), got {header!r}.", 1)


def _parse_table(path: Path, content: bytes) -> dict:
    """The columns of a vowel data file, checked row by row.

    Parameters
    ----------
    path : pathlib.Path
        Only used in messages.
    content : bytes
        The file: UTF-8 (a byte-order mark is ignored), LF or CRLF line
        endings, a header line then one tab-separated row per token.

    Returns
    -------
    dict of str to read-only ndarray of shape (n_samples,)
        'speaker_type', 'speaker', 'vowel_id', 'vowel', 'agreed', 'f0'..'f3'.

    Raises
    ------
    VowelDataError
        For the first fault found, with its line number.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line_number = content[:error.start].count(b"\n") + 1
        raise VowelDataError(path, f"is not UTF-8 text (byte {content[error.start]:#04x}); "
                                   "expected a tab-separated UTF-8 text file.",
                             line_number) from None
    lines = text.removeprefix("\ufeff").split("\n")
    lines = [line.removesuffix("\r") for line in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise VowelDataError(path, f"the file is empty; expected the header "
                                   f"{_EXPECTED_HEADER!r} and one row per token.")
    _split_header(path, lines[0])
    if len(lines) == 1:
        raise VowelDataError(path, "the file has a header but no data rows; expected one "
                                   "tab-separated row per token after it.")
    columns = {name: [] for name in ("speaker_type", "speaker", "vowel_id", "vowel",
                                     "agreed") + FEATURES}
    last = len(lines)
    for line_number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(_COLUMNS):
            hint = " (the file ends here: is it truncated?)" if line_number == last else ""
            if len(fields) == 1 and "," in line:
                hint = " (the fields seem separated by commas; expected tabs)"
            raise VowelDataError(
                path, f"expected {len(_COLUMNS)} tab-separated fields "
                f"({', '.join(_COLUMNS)}), got {len(fields)}{hint}: {line!r}.", line_number)
        group, speaker, vowel_id, label = (field.strip() for field in fields[:4])
        if group.upper() not in SPEAKER_GROUPS:
            raise VowelDataError(
                path, f"column 'type': expected M, W or C (men, women, children), "
                f"got {group!r}.", line_number)
        columns["speaker_type"].append(group.upper())
        columns["speaker"].append(
            _number(path, line_number, "speaker", speaker, integer=True, low=1))
        vowel = _VOWEL_BY_ID[_number(path, line_number, "vowel_id", vowel_id, integer=True,
                                     low=1, high=len(VOWELS))]
        if label.lstrip("*").upper() != vowel.label:
            raise VowelDataError(
                path, f"column 'vowel': expected {vowel.label} (vowel_id {vowel.id}), "
                f"optionally marked '*', got {label!r}.", line_number)
        columns["vowel"].append(vowel.label)
        columns["agreed"].append(not label.startswith("*"))
        columns["vowel_id"].append(vowel.id)
        for feature, field in zip(FEATURES, fields[4:]):
            columns[feature].append(
                _number(path, line_number, feature, field.strip(), integer=False, low=0))
    table = {name: np.array(values) for name, values in columns.items()}
    for feature in FEATURES:
        table[feature] = table[feature].astype(np.float64)
    for array in table.values():
        array.flags.writeable = False
    return table


@lru_cache(maxsize=1)
def _bundled_table() -> dict:
    """The bundled file, read, checksummed and parsed once per process."""
    path = data_path()
    content = _read_bytes(path)
    _check_checksum(path, content, DATA_SHA256)
    return _parse_table(path, content)


def _read_table(path=None) -> dict:
    if path is None:
        return _bundled_table()
    path = Path(path)
    return _parse_table(path, _read_bytes(path))


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
    if isinstance(value, (str, bytes, int, np.integer, Vowel)):
        return [value]
    try:
        return list(value)
    except TypeError:  # a float, None, ...: reported by the caller's check
        return [value]


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


def load_vowels(vowels=None, speakers=None, features=("f1", "f2"), *,
                path=None) -> VowelData:
    """Load the bundled Peterson & Barney tokens (or a file like it), filtered.

    Parameters
    ----------
    vowels : int, str or sequence of them, default=None
        Vowel ids (1..10) or labels ('IY', 'IH', ...); None keeps all ten.
    speakers : str or sequence of str, default=None
        Speaker groups 'M' (men), 'W' (women), 'C' (children); None keeps all.
    features : sequence of str, default=('f1', 'f2')
        Columns of X, from 'f0', 'f1', 'f2', 'f3' (Hz).
    path : str or path-like, optional
        A data file of your own in the bundled file's format (see
        ``data/README.md``: UTF-8, tab-separated, the header
        ``type speaker vowel_id vowel f0 f1 f2 f3``, one row per token).
        Read afresh at every call. Default: the bundled file, whose
        SHA-256 is checked the first time it is read.

    Returns
    -------
    VowelData
        ``X`` of shape (n_samples, len(features)) in Hz, and per-row
        ``vowel_id``, ``vowel``, ``speaker_type``, ``speaker``, ``agreed``.
        Rows keep the file's order (speaker, then vowel, then repetition).

    Raises
    ------
    VowelDataError
        A ValueError naming the file (and line) when the file is missing,
        empty, truncated or malformed, when the bundled file's checksum does
        not match, or when the selection holds no tokens.
    ValueError
        For an unknown vowel, speaker group or feature.

    Examples
    --------
    >>> data = load_vowels(["IY", "IH"], speakers="M")
    >>> data.X.shape
    (132, 2)
    """
    if features is None:
        raise ValueError(f"features is None. Use one or more of {', '.join(FEATURES)}.")
    feature_names = _check_features(features)
    table = _read_table(path)
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
    if not keep.any():
        raise VowelDataError(
            data_path() if path is None else path,
            "no tokens match the selection (vowels "
            f"{'all' if vowels is None else ' '.join(vowel_info(v).label for v in _as_list(vowels))}"
            f", speakers {'all' if speakers is None else ' '.join(_check_speakers(speakers))}); "
            f"the file has vowels {' '.join(sorted(set(table['vowel'])))} and speaker groups "
            f"{' '.join(sorted(set(table['speaker_type'])))}.")
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
