"""Tests of utils.data: cache folder, verified download, splits and the makemore tensors.

No test touches the real network: downloads come from an HTTP server on 127.0.0.1 started
by the test, "offline" is a closed local port, and the tests on the real ``names.txt`` use a
local copy (skipped when none is found). Every test runs with ``TNN_DATA_DIR`` pointing
into its own ``tmp_path`` so the user's cache is never read or written.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import random
import shutil
import socket
import threading
import urllib.request
from pathlib import Path

import pytest
import torch

import utils.data as data
from utils.data import (
    CACHE_ENV,
    NAMES_COUNT,
    NAMES_SHA256,
    NAMES_URL,
    VOCAB,
    DatasetError,
    Splits,
    build_dataset,
    cache_dir,
    itos,
    load_names,
    names_splits,
    split_names,
    stoi,
)

FAKE_BYTES = b"anna\nbob\n\ncarl\n"  # an empty line and a trailing newline on purpose
FAKE_NAMES = ["anna", "bob", "carl"]
FAKE_SHA = hashlib.sha256(FAKE_BYTES).hexdigest()
OTHER_SHA = hashlib.sha256(b"something else").hexdigest()


def _find_real_names() -> Path | None:
    """A local copy of the canonical names.txt (checked by sha256), or None."""
    candidates = [
        os.environ.get("TNN_TEST_NAMES_FILE"),
        Path(__file__).resolve().parents[1] / "shared" / "data" / "names.txt",
        "/work/shared/data/names.txt",
        cache_dir() / "names.txt",  # e.g. the cache CI seeds; evaluated before any monkeypatch
    ]
    for candidate in candidates:
        if not candidate:
            continue
        path = Path(candidate)
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == NAMES_SHA256:
            return path
    return None


REAL_NAMES = _find_real_names()
needs_real_file = pytest.mark.skipif(
    REAL_NAMES is None,
    reason="no local copy of the canonical names.txt (looked in $TNN_TEST_NAMES_FILE, "
    "shared/data/, /work/shared/data/ and the cache folder); the tests never download it",
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Keep every test away from the user's cache and from any proxy."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "default-cache"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def no_network(monkeypatch):
    """Make any download attempt fail the test loudly."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the network was used: urlopen{args}")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path == "/truncated":
            # Announce 1000 bytes, send 10, hang up: a download broken half-way.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"anna\nbob\nc")
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


class LocalServer:
    def __init__(self, root: Path):
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "names.txt").write_bytes(FAKE_BYTES)
    srv = LocalServer(root)
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 whose port is bound but not listening: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/names.txt"
    finally:
        sock.close()


@pytest.fixture
def silent_port_url():
    """A URL on 127.0.0.1 that accepts the connection but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/names.txt"
    finally:
        sock.close()


@pytest.fixture
def restore_global_random():
    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)


@pytest.fixture
def real_cache(tmp_path):
    if REAL_NAMES is None:
        pytest.skip("no local copy of the canonical names.txt")
    folder = tmp_path / "real-cache"
    folder.mkdir()
    shutil.copyfile(REAL_NAMES, folder / "names.txt")
    return folder


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- constants


def test_constants():
    assert NAMES_URL == "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
    assert NAMES_SHA256 == "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
    assert NAMES_COUNT == 32_033
    assert CACHE_ENV == "TNN_DATA_DIR"
    assert issubclass(DatasetError, RuntimeError)


def test_vocabulary():
    assert len(VOCAB) == 27 and VOCAB[0] == "."
    assert "".join(VOCAB[1:]) == "abcdefghijklmnopqrstuvwxyz"
    assert stoi["."] == 0 and stoi["a"] == 1 and stoi["e"] == 5 and stoi["z"] == 26
    assert all(itos[stoi[ch]] == ch for ch in VOCAB)
    assert sorted(itos) == list(range(27))


# --------------------------------------------------------------------------- cache_dir()


def test_cache_dir_env_var_wins_over_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"


def test_cache_dir_env_var_expands_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(CACHE_ENV, "~/data")
    assert cache_dir() == tmp_path / "data"


def test_cache_dir_xdg_when_env_var_unset_or_empty(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir() == tmp_path / "xdg" / "tnn-course"
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir() == tmp_path / "xdg" / "tnn-course"


def test_cache_dir_home_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "tnn-course"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")  # relative: ignored per the XDG spec
    assert cache_dir() == tmp_path / ".cache" / "tnn-course"


# --------------------------------------------------------------------------- load_names: download


def test_download_success_then_cached(server, tmp_path):
    cache = tmp_path / "a" / "b"  # does not exist yet
    names = load_names(cache_dir=cache, url=server.url("names.txt"), sha256=FAKE_SHA)
    assert names == FAKE_NAMES
    assert (cache / "names.txt").read_bytes() == FAKE_BYTES
    assert _listing(cache) == ["names.txt"]  # no temporary file left
    assert server.requests == ["/names.txt"]

    again = load_names(cache_dir=cache, url=server.url("names.txt"), sha256=FAKE_SHA.upper())
    assert again == FAKE_NAMES
    assert server.requests == ["/names.txt"]  # the second call read the cache


def test_download_goes_to_env_var_folder(server, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "from-env"))
    assert load_names(url=server.url("names.txt"), sha256=FAKE_SHA) == FAKE_NAMES
    assert (tmp_path / "from-env" / "names.txt").read_bytes() == FAKE_BYTES


def test_download_with_wrong_checksum_writes_nothing(server, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError) as info:
        load_names(cache_dir=cache, url=server.url("names.txt"), sha256=OTHER_SHA)
    message = str(info.value)
    assert OTHER_SHA in message and FAKE_SHA in message
    assert "nothing was written" in message
    assert _listing(cache) == []  # neither names.txt nor a temporary file


def test_http_404(server, tmp_path):
    cache = tmp_path / "cache"
    url = server.url("missing.txt")
    with pytest.raises(DatasetError) as info:
        load_names(cache_dir=cache, url=url, sha256=FAKE_SHA)
    message = str(info.value)
    assert "404" in message
    assert url in message
    assert str(cache / "names.txt") in message
    assert CACHE_ENV in message
    assert _listing(cache) == []


def test_offline(closed_port_url, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError) as info:
        load_names(cache_dir=cache, url=closed_port_url, sha256=FAKE_SHA, timeout=5)
    message = str(info.value)
    assert closed_port_url in message
    assert "refused" in message.lower()  # the underlying reason
    assert str(cache / "names.txt") in message  # where to put the file
    assert CACHE_ENV in message  # how to point elsewhere
    assert _listing(cache) == []


def test_offline_message_uses_default_cache_path(closed_port_url, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    with pytest.raises(DatasetError, match="env-cache") as info:
        load_names(url=closed_port_url, sha256=FAKE_SHA, timeout=5)
    assert str(tmp_path / "env-cache" / "names.txt") in str(info.value)


def test_timeout(silent_port_url, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match="timed out") as info:
        load_names(cache_dir=cache, url=silent_port_url, sha256=FAKE_SHA, timeout=0.3)
    assert CACHE_ENV in str(info.value)
    assert _listing(cache) == []


def test_download_broken_halfway_leaves_nothing(server, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError) as info:
        load_names(cache_dir=cache, url=server.url("truncated"), sha256=FAKE_SHA, timeout=5)
    message = str(info.value)
    assert server.url("truncated") in message
    assert "received 10 of 1,000 bytes" in message
    assert _listing(cache) == []


def test_failed_move_cleans_temporary_file(server, monkeypatch, tmp_path):
    cache = tmp_path / "cache"

    def failing_replace(src, dst):
        raise OSError("simulated failure")

    monkeypatch.setattr(data.os, "replace", failing_replace)
    with pytest.raises(DatasetError, match="simulated failure"):
        load_names(cache_dir=cache, url=server.url("names.txt"), sha256=FAKE_SHA)
    assert _listing(cache) == []


def test_download_is_atomic(server, monkeypatch, tmp_path):
    """The bytes go to a temporary file beside names.txt, moved into place once verified."""
    cache = tmp_path / "cache"
    calls = []
    real_replace = os.replace

    def recording_replace(src, dst):
        calls.append((Path(src), Path(dst), Path(dst).exists(), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(data.os, "replace", recording_replace)
    load_names(cache_dir=cache, url=server.url("names.txt"), sha256=FAKE_SHA)
    assert len(calls) == 1
    src, dst, dst_existed, src_bytes = calls[0]
    assert dst == cache / "names.txt" and not dst_existed
    assert src.parent == cache and src.name != "names.txt"
    assert src_bytes == FAKE_BYTES
    assert not src.exists()


def test_malformed_sha256_argument(tmp_path):
    with pytest.raises(ValueError, match="64 hexadecimal"):
        load_names(cache_dir=tmp_path, sha256="abc123")


# --------------------------------------------------------------------------- load_names: cache


def test_cached_good_file_uses_no_network(no_network, closed_port_url, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "names.txt").write_bytes(FAKE_BYTES)
    assert load_names(cache_dir=cache, url=closed_port_url, sha256=FAKE_SHA) == FAKE_NAMES


def test_corrupted_cached_file(no_network, closed_port_url, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "names.txt").write_bytes(FAKE_BYTES)
    with pytest.raises(DatasetError) as info:
        load_names(cache_dir=cache, url=closed_port_url, sha256=OTHER_SHA)
    message = str(info.value)
    assert OTHER_SHA in message and FAKE_SHA in message  # expected and actual
    assert str(cache / "names.txt") in message
    assert "Delete" in message
    assert (cache / "names.txt").read_bytes() == FAKE_BYTES  # left alone


def test_canonical_checksum_requires_the_canonical_count(no_network, monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "names.txt").write_bytes(FAKE_BYTES)
    # A custom checksum: any number of names is fine.
    assert load_names(cache_dir=cache, sha256=FAKE_SHA) == FAKE_NAMES
    # Pretend the 3-name file is the canonical one: 3 != 32,033 must be caught.
    monkeypatch.setattr(data, "NAMES_SHA256", FAKE_SHA)
    with pytest.raises(DatasetError, match="32,033"):
        load_names(cache_dir=cache, sha256=FAKE_SHA)


# --------------------------------------------------------------------------- build_dataset


def test_build_dataset_emma_block_3():
    X, Y = build_dataset(["emma"], block_size=3)
    # ... -> e, ..e -> m, .em -> m, emm -> a, mma -> .
    assert X.tolist() == [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]]
    assert Y.tolist() == [5, 13, 13, 1, 0]
    assert X.dtype == torch.long and Y.dtype == torch.long
    assert X.shape == (5, 3) and Y.shape == (5,)


def test_build_dataset_default_block_size_and_other_sizes():
    X, Y = build_dataset(["emma"])
    assert X.shape == (5, 3)
    X1, Y1 = build_dataset(["ab", "c"], block_size=1)
    assert X1.tolist() == [[0], [1], [2], [0], [3]]
    assert Y1.tolist() == [1, 2, 0, 3, 0]
    X5, _ = build_dataset(("ab",), block_size=5)
    assert X5.tolist() == [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 2]]


def test_build_dataset_empty_list_keeps_shape():
    X, Y = build_dataset([], block_size=4)
    assert X.shape == (0, 4) and Y.shape == (0,)
    assert X.dtype == torch.long and Y.dtype == torch.long


@pytest.mark.parametrize("bad", [0, -2])
def test_build_dataset_rejects_nonpositive_block_size(bad):
    with pytest.raises(ValueError, match=f"got {bad}"):
        build_dataset(["emma"], block_size=bad)


@pytest.mark.parametrize("bad", [2.5, "3", True, None])
def test_build_dataset_rejects_non_int_block_size(bad):
    with pytest.raises(ValueError, match="block_size must be an integer >= 1") as info:
        build_dataset(["emma"], block_size=bad)
    assert repr(bad) in str(info.value)


def test_build_dataset_rejects_a_string_instead_of_a_list():
    with pytest.raises(TypeError, match="list of strings.*'emma'"):
        build_dataset("emma")


def test_build_dataset_rejects_non_string_items():
    with pytest.raises(TypeError, match=r"words\[1\] is int"):
        build_dataset(["emma", 3])


@pytest.mark.parametrize(
    "word, char",
    [("Emma", "E"), ("anne-marie", "-"), ("a.b", "."), ("zoë", "ë"), ("bob ", " ")],
)
def test_build_dataset_rejects_characters_outside_a_to_z(word, char):
    with pytest.raises(ValueError) as info:
        build_dataset(["ok", word])
    message = str(info.value)
    assert repr(word) in message
    assert repr(char) in message


def test_build_dataset_rejects_empty_word():
    with pytest.raises(ValueError, match=r"words\[1\] is an empty string"):
        build_dataset(["ok", ""])


# --------------------------------------------------------------------------- splits


def test_private_rng_gives_the_lectures_permutation(restore_global_random):
    for n in (10, 1000, NAMES_COUNT):
        lecture = list(range(n))
        random.seed(42)
        random.shuffle(lecture)
        ours = list(range(n))
        random.Random(42).shuffle(ours)
        assert ours == lecture
        assert ours != list(range(n))  # it did shuffle


def test_split_names_matches_lecture_and_leaves_global_state_alone(restore_global_random):
    words = [f"w{i}" for i in range(1000)]
    original = list(words)
    random.seed(123)
    before = random.getstate()
    train, val, test = split_names(words)
    assert random.getstate() == before  # global generator untouched
    assert words == original  # input untouched

    lecture = list(words)
    random.seed(42)
    random.shuffle(lecture)
    assert (train, val, test) == (lecture[:800], lecture[800:900], lecture[900:])
    assert split_names(words, seed=1).train != train


def test_split_names_boundaries_are_the_lectures():
    for n in range(0, 300):
        parts = split_names(list(range(n)))
        assert isinstance(parts, Splits)
        assert len(parts.train) == int(0.8 * n)
        assert len(parts.train) + len(parts.val) == int(0.9 * n)
        assert sorted(parts.train + parts.val + parts.test) == list(range(n))


def test_split_names_custom_fractions():
    train, val, test = split_names(list(range(100)), fractions=(0.5, 0.25, 0.25))
    assert (len(train), len(val), len(test)) == (50, 25, 25)


@pytest.mark.parametrize("bad", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1), "0.8"])
def test_split_names_rejects_bad_fractions(bad):
    with pytest.raises(ValueError, match="fractions"):
        split_names(["a", "b"], fractions=bad)


def test_split_names_rejects_a_string():
    with pytest.raises(TypeError):
        split_names("emma")


# --------------------------------------------------------------------------- the real file


@needs_real_file
def test_real_file_loads_from_cache(no_network, real_cache):
    names = load_names(cache_dir=real_cache)
    assert len(names) == NAMES_COUNT == 32_033
    assert names[:3] == ["emma", "olivia", "ava"]
    assert all(name and set(name) <= set(VOCAB[1:]) for name in names)


@needs_real_file
def test_real_split_sizes_block_3(no_network, real_cache, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(real_cache))  # found through the env var
    splits = names_splits(3)
    (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte) = splits
    assert Xtr.shape == (182_625, 3) and Ytr.shape == (182_625,)
    assert Xdev.shape == (22_655, 3) and Ydev.shape == (22_655,)
    assert Xte.shape == (22_866, 3) and Yte.shape == (22_866,)
    assert splits.train[0] is Xtr and splits.val[1] is Ydev and splits.test[0] is Xte
    assert all(t.dtype == torch.long for pair in splits for t in pair)
    assert int(Ytr.min()) == 0 and int(Ytr.max()) == 26


@needs_real_file
def test_real_splits_other_block_size(no_network, real_cache):
    (Xtr, Ytr), (Xdev, _), (Xte, _) = names_splits(8, cache_dir=real_cache)
    assert Xtr.shape[1] == 8
    # The number of examples does not depend on the block size.
    assert (Xtr.shape[0], Xdev.shape[0], Xte.shape[0]) == (182_625, 22_655, 22_866)


def test_digits_splits_are_sklearns_stratified_splits_standardised_on_the_training_set():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from utils.data import digits_splits
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = digits_splits(train_size=200, val_size=500)
    assert (X_tr.shape, X_va.shape, X_te.shape) == ((200, 64), (500, 64), (1097, 64))
    assert X_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    counts = torch.bincount(y_tr)  # stratified: each digit's share of 200, give or take one
    assert counts.min() >= 19 and counts.max() <= 21
    X, y = load_digits(return_X_y=True)
    raw_tr, _, _, _ = train_test_split(X, y, train_size=200, random_state=0, stratify=y)
    std = raw_tr.std(axis=0)
    constant = std == 0
    assert torch.allclose(X_tr.mean(0)[~torch.from_numpy(constant)], torch.zeros(1), atol=1e-5)
    assert (X_tr[:, torch.from_numpy(constant)] == 0).all()  # constant pixels stay 0
    np.testing.assert_allclose(X_tr.std(0, correction=0)[~torch.from_numpy(constant)].numpy(), 1, atol=1e-5)
    (A, a), (B, b) = digits_splits(test_size=0.25)
    assert (A.shape, B.shape) == ((1347, 64), (450, 64)) and len(set(a.tolist())) == 10
