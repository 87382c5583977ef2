"""The makemore names dataset: verified download, local cache, and the lecture's splits.

The course trains character-level language models on the 32,033 first names of Andrej
Karpathy's *makemore* lectures (``names.txt``, one lowercase name a line, MIT licence). This
module gets that file for real and turns it into tensors:

- :func:`load_names` returns the list of names. The file is downloaded once from
  :data:`NAMES_URL`, its sha256 is checked against :data:`NAMES_SHA256`, and it is kept in a
  cache folder (:func:`cache_dir`; set the environment variable ``TNN_DATA_DIR`` to choose
  it). The download goes to a temporary file beside the final one and is moved into place
  only once its checksum is right, so a failed or interrupted download never leaves a
  broken ``names.txt`` behind. Every failure raises :class:`DatasetError` with a message
  that says what went wrong and how to fix it (e.g. where to put the file by hand when the
  machine is offline).
- :func:`split_names` shuffles a copy of the names exactly as the lecture does
  (``random.seed(42); random.shuffle(words)``) without touching the global random number
  generator, and cuts it 80% / 10% / 10%.
- :func:`build_dataset` is the makemore part-3 construction of (context, next character)
  pairs: ``X`` of shape ``(N, block_size)`` and ``Y`` of shape ``(N,)``, both ``torch.long``.
- :func:`names_splits` does all three: with ``block_size=3`` it gives the lecture's
  182,625 / 22,655 / 22,866 training / validation / test examples.

Left out on purpose: no other datasets, no progress bar, no retries or mirrors (one
canonical address, one checksum), no ``torch.utils.data.Dataset`` wrapper (the chapters
index the tensors directly, as the lectures do), and no handling of characters outside
``a``-``z`` beyond a clear error (the real file has none).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import random
import re
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import torch

from .validation import check_int

__all__ = [
    "NAMES_URL",
    "NAMES_SHA256",
    "NAMES_COUNT",
    "NAMES_FILENAME",
    "CACHE_ENV",
    "VOCAB",
    "stoi",
    "itos",
    "DatasetError",
    "Splits",
    "cache_dir",
    "load_names",
    "split_names",
    "build_dataset",
    "names_splits",
    "digits_splits",
]

#: Canonical download address of ``names.txt`` (the karpathy/makemore repository).
NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
#: sha256 of the canonical ``names.txt`` (lowercase hex).
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
#: Number of names in the canonical file.
NAMES_COUNT = 32_033
#: Name of the file inside the cache folder.
NAMES_FILENAME = "names.txt"
#: Environment variable that chooses the cache folder.
CACHE_ENV = "TNN_DATA_DIR"

#: The 27 symbols: ``'.'`` (start/end of a name, index 0) then ``'a'``..``'z'`` (1..26).
VOCAB: list[str] = ["."] + list("abcdefghijklmnopqrstuvwxyz")
#: Character -> index, e.g. ``stoi['.'] == 0``, ``stoi['a'] == 1``, ``stoi['z'] == 26``.
stoi: dict[str, int] = {ch: i for i, ch in enumerate(VOCAB)}
#: Index -> character, the inverse of :data:`stoi`.
itos: dict[int, str] = {i: ch for i, ch in enumerate(VOCAB)}

_LETTERS = frozenset(VOCAB[1:])
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class DatasetError(RuntimeError):
    """The dataset could not be obtained: offline, HTTP error, wrong checksum, unreadable cache."""


class Splits(NamedTuple):
    """Training, validation and test parts, in that order (unpacks as a 3-tuple)."""

    train: Any
    val: Any
    test: Any


# --------------------------------------------------------------------------- cache folder


def cache_dir() -> Path:
    """Return the folder where downloaded datasets are cached.

    Looked up in this order:

    1. ``$TNN_DATA_DIR`` if it is set and not empty (``~`` is expanded);
    2. ``$XDG_CACHE_HOME/tnn-course`` if ``XDG_CACHE_HOME`` is set to an absolute path;
    3. ``~/.cache/tnn-course``.

    The folder is not created here; :func:`load_names` creates it when it downloads.

    Returns:
        The cache folder as a :class:`pathlib.Path`.

    Example:
        >>> cache_dir()  # with TNN_DATA_DIR and XDG_CACHE_HOME unset  # doctest: +SKIP
        PosixPath('/home/me/.cache/tnn-course')
    """
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative paths
        return Path(xdg) / "tnn-course"
    return Path.home() / ".cache" / "tnn-course"


_default_cache_dir = cache_dir  # load_names() has a parameter of the same name


# --------------------------------------------------------------------------- loading


def _sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _how_to_fix(target: Path, url: str) -> str:
    return (
        "To fix it, do one of these:\n"
        "  - check the internet connection (and the address) and run this again;\n"
        f"  - download {url} yourself and save it as\n"
        f"        {target}\n"
        f"    e.g.  curl -L -o '{target}' '{url}'\n"
        "  - or keep names.txt in a folder of your choice and set the environment variable "
        f"{CACHE_ENV} to that folder\n"
        f"    (e.g.  export {CACHE_ENV}=/path/to/folder), or pass cache_dir=... ."
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        got = len(exc.partial)
        return (f"the connection broke during the download (received {got:,} of "
                f"{got + (exc.expected or 0):,} bytes)")
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP error {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, (TimeoutError, socket.timeout)):
            return f"network error ({exc.reason})"
        exc = exc.reason
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timed out ({exc or 'no answer'})"
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def _download(url: str, target: Path, sha256: str, timeout: float) -> bytes:
    """Download ``url``, check its SHA-256, write it beside ``target`` and move it into place
    atomically; return the bytes. Whatever fails (offline, HTTP error, timeout, a broken
    connection, a wrong checksum, a folder that cannot be written) raises one
    :class:`DatasetError` that says what happened and how to fix it, and leaves nothing
    behind: no ``target``, no temporary file."""
    tmp = None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            data = response.read()
        got = _sha256_of(data)
        if got != sha256:
            raise ValueError(f"the file has the wrong checksum (expected sha256 {sha256}, got "
                             f"{got}, {len(data):,} bytes): the address may serve a changed file")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        tmp.chmod(0o644)  # mkstemp makes it 0600; a cache folder may be shared
        os.replace(tmp, target)
        tmp = None
        return data
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DatasetError(
            f"Could not get the names dataset from {url}: {_describe(exc)}.\n"
            f"It is needed at {target}; nothing was written there.\n" + _how_to_fix(target, url)
        ) from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _read_cached(target: Path, expected: str, url: str) -> bytes:
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise DatasetError(
            f"The cached names dataset {target} exists but cannot be read: {exc}.\n"
            f"Delete it so that it is downloaded again, or set {CACHE_ENV} to another folder."
        ) from exc
    got = _sha256_of(data)
    if got != expected:
        raise DatasetError(
            f"The cached names dataset {target} is corrupted or was changed:\n"
            f"  expected sha256 {expected}\n"
            f"  actual   sha256 {got}  ({len(data):,} bytes)\n"
            f"Delete it (rm '{target}') so that it is downloaded again from {url}, "
            "or copy a good names.txt there."
        )
    return data


def load_names(
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    url: str = NAMES_URL,
    sha256: str = NAMES_SHA256,
    timeout: float = 30,
) -> list[str]:
    """Return the makemore names, downloading and caching ``names.txt`` the first time.

    If ``<cache_dir>/names.txt`` exists it is read, and its sha256 must equal ``sha256``.
    Otherwise it is downloaded from ``url`` into a temporary file in the same folder, the
    sha256 of what arrived is checked, and only then is it moved into place (atomically), so
    a half-written ``names.txt`` never exists. When ``sha256`` is the canonical
    :data:`NAMES_SHA256` the result must also hold exactly :data:`NAMES_COUNT` names.

    Args:
        cache_dir: Folder that holds (or will hold) ``names.txt``. ``None`` means
            :func:`cache_dir` (``$TNN_DATA_DIR``, else ``$XDG_CACHE_HOME/tnn-course``,
            else ``~/.cache/tnn-course``).
        url: Where to download the file from if it is not cached.
        sha256: Expected sha256 of the file (64 hex digits, any case).
        timeout: Seconds to wait for the connection and for each read of the download.

    Returns:
        The names, in file order: one string per non-empty line, without line endings.

    Raises:
        DatasetError: The cached file has the wrong sha256 or cannot be read; the download
            failed (offline, HTTP error, timeout); the downloaded file has the wrong sha256
            (nothing is written then); or the canonical file does not hold 32,033 names.
            The message says what happened and how to fix it.
        ValueError: ``sha256`` is not 64 hexadecimal digits.

    Example:
        >>> words = load_names()  # downloads once, then reads the cache  # doctest: +SKIP
        >>> len(words), words[:3]  # doctest: +SKIP
        (32033, ['emma', 'olivia', 'ava'])
    """
    expected = sha256.strip().lower() if isinstance(sha256, str) else sha256
    if not isinstance(expected, str) or not _SHA256_RE.fullmatch(expected):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")

    folder = Path(cache_dir).expanduser() if cache_dir is not None else _default_cache_dir()
    target = folder.absolute() / NAMES_FILENAME

    if target.exists():
        data = _read_cached(target, expected, url)
    else:
        data = _download(url, target, expected, timeout)

    return _names_in(data, target, canonical=expected == NAMES_SHA256)


def _names_in(data: bytes, target: Path, canonical: bool) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{target} is not UTF-8 text: {exc}") from exc
    names = [line for line in text.splitlines() if line]
    if canonical and len(names) != NAMES_COUNT:
        raise DatasetError(
            f"{target} has the canonical sha256 but {len(names):,} names instead of "
            f"{NAMES_COUNT:,}; this is a bug in utils.data, please report it."
        )
    return names


# --------------------------------------------------------------------------- splits & tensors


def split_names(
    words: Sequence[str],
    seed: int = 42,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> Splits:
    """Shuffle a copy of ``words`` as the lecture does and cut it into train / val / test.

    The lecture runs ``random.seed(42); random.shuffle(words)`` on the global generator;
    this uses a private ``random.Random(seed)`` instead, which gives the same permutation
    (same Mersenne Twister, same shuffle) while leaving the global generator and ``words``
    untouched. The cuts are ``n1 = int(f_train * n)`` and ``n2 = int((f_train + f_val) * n)``,
    i.e. ``int(0.8 * n)`` and ``int(0.9 * n)`` by default, exactly as in the lecture.

    Args:
        words: The names (not modified).
        seed: Seed of the shuffle.
        fractions: Non-negative training, validation and test fractions summing to 1.

    Returns:
        ``Splits(train, val, test)``, three new lists of names.

    Raises:
        TypeError: ``words`` is a string rather than a list of strings.
        ValueError: ``fractions`` are not three non-negative numbers summing to 1.

    Example:
        >>> train, val, test = split_names(["emma", "olivia", "ava", "isabella", "sophia"])
        >>> len(train), len(val), len(test)
        (4, 0, 1)
    """
    if isinstance(words, (str, bytes)):
        raise TypeError(
            f"words must be a list of strings, got a single {type(words).__name__}: {words!r:.60}"
        )
    if (
        not isinstance(fractions, (tuple, list))
        or len(fractions) != 3
        or any(isinstance(f, bool) or not isinstance(f, (int, float)) or f < 0 for f in fractions)
        or abs(sum(fractions) - 1.0) > 1e-9
    ):
        raise ValueError(
            f"fractions must be three non-negative numbers summing to 1 "
            f"(train, val, test), got {fractions!r}"
        )
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n = len(shuffled)
    # round() removes float noise from the sum (0.8 + 0.1 == 0.9000000000000001) so that
    # the defaults give exactly the lecture's int(0.9 * n).
    n1 = int(round(fractions[0], 12) * n)
    n2 = int(round(fractions[0] + fractions[1], 12) * n)
    return Splits(shuffled[:n1], shuffled[n1:n2], shuffled[n2:])


def _check_word(i: int, w) -> None:
    if not isinstance(w, str):
        raise TypeError(
            f"words must be a list of strings, but words[{i}] is {type(w).__name__}: {w!r:.60}"
        )
    if not w:
        raise ValueError(f"words[{i}] is an empty string; every name needs at least one letter")
    bad = next((ch for ch in w if ch not in _LETTERS), None)
    if bad is not None:
        raise ValueError(
            f"word {w!r} (words[{i}]) contains the character {bad!r}; only lowercase "
            "letters a-z are allowed ('.' is reserved for the start/end of a name)"
        )


def build_dataset(words: Sequence[str], block_size: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Build the (context, next character) examples of makemore part 3.

    For each word the context starts as ``block_size`` dots (index 0); for each character of
    ``word + '.'`` the current context is appended to ``X`` and the character's index to
    ``Y``, then the context slides one character to the left.

    Args:
        words: Names made of the letters ``a``..``z`` only (a list or tuple of strings).
        block_size: Number of previous characters in each context (a positive int).

    Returns:
        ``(X, Y)``: ``torch.long`` tensors of shapes ``(N, block_size)`` and ``(N,)`` where
        ``N = sum(len(w) + 1 for w in words)``.

    Raises:
        TypeError: ``words`` is not a list/tuple, or an item of ``words`` is not a string.
        ValueError: ``block_size`` is not a positive integer, a word is empty, or a word
            holds a character outside ``a``..``z`` (the message names the word and the
            character).

    Example:
        >>> X, Y = build_dataset(["emma"], block_size=3)
        >>> X.tolist()
        [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]]
        >>> Y.tolist()
        [5, 13, 13, 1, 0]
    """
    block_size = check_int(block_size, "block_size")
    if not isinstance(words, (list, tuple)):
        raise TypeError(
            f"words must be a list of strings, got {type(words).__name__}: {words!r:.60}"
        )
    X: list[list[int]] = []
    Y: list[int] = []
    for i, w in enumerate(words):
        _check_word(i, w)
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]

    Xt = torch.tensor(X, dtype=torch.long).reshape(len(X), block_size)
    Yt = torch.tensor(Y, dtype=torch.long)
    return Xt, Yt


def names_splits(
    block_size: int = 3,
    *,
    seed: int = 42,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Splits:
    """Load the names and return the lecture's training, validation and test tensors.

    Equivalent to :func:`load_names`, then :func:`split_names` (80/10/10, ``seed``), then
    :func:`build_dataset` on each part.

    Args:
        block_size: Context length of each example.
        seed: Seed of the shuffle (42 in the lecture).
        cache_dir: Where ``names.txt`` is cached; ``None`` means :func:`cache_dir`.

    Returns:
        ``Splits(train, val, test)``, each an ``(X, Y)`` pair of ``torch.long`` tensors.

    Raises:
        DatasetError: The names could not be loaded (see :func:`load_names`).
        ValueError: Bad ``block_size`` (see :func:`build_dataset`).

    Example:
        >>> (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte) = names_splits(3)  # doctest: +SKIP
        >>> Xtr.shape, Xdev.shape, Xte.shape  # doctest: +SKIP
        (torch.Size([182625, 3]), torch.Size([22655, 3]), torch.Size([22866, 3]))
    """
    parts = split_names(load_names(cache_dir=cache_dir), seed=seed)
    return Splits(*(build_dataset(part, block_size) for part in parts))


# --------------------------------------------------------------------------- the digits


def digits_splits(*, train_size: float | int | None = None, test_size: float | int | None = None,
                  val_size: float | int | None = None, seed: int = 0):
    """scikit-learn's 8x8 handwritten digits (1,797 images, 64 pixels, 10 classes), split and
    standardised as the optimizers and regularization chapters use them.

    The split is stratified (``train_test_split(..., random_state=seed, stratify=y)``) into
    a training set of ``train_size`` and the rest (``test_size``); with ``val_size`` the rest
    is split again, ``val_size`` for validation and the remainder for testing. Every pixel
    is standardised with the mean and (population) standard deviation of the *training* set;
    pixels that are constant there stay 0.

    Returns:
        ``((X_train, y_train), (X_test, y_test))``, or ``((X_train, y_train), (X_val, y_val),
        (X_test, y_test))`` with ``val_size``: float32 (n, 64) images and int64 (n,) labels.

    Example:
        >>> (X_tr, y_tr), (X_te, y_te) = digits_splits(test_size=0.25)
        >>> tuple(X_tr.shape), tuple(X_te.shape)
        ((1347, 64), (450, 64))
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, train_size=train_size, test_size=test_size,
                                                  random_state=seed, stratify=y)
    parts = [(X_tr, y_tr), (X_rest, y_rest)]
    if val_size is not None:
        X_va, X_te, y_va, y_te = train_test_split(X_rest, y_rest, train_size=val_size,
                                                  random_state=seed, stratify=y_rest)
        parts[1:] = [(X_va, y_va), (X_te, y_te)]
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
    std[std == 0] = 1.0  # pixels that are always 0 in the training set stay 0
    return tuple((torch.tensor((Xp - mean) / std, dtype=torch.float32), torch.tensor(yp))
                 for Xp, yp in parts)
