"""Property-based: random and mutated recordings and scan parameters, documented outcomes only.

Every example builds a small valid recording, mutates its bytes (bit flips and random
values in the 256-byte series header, truncations, appended or scribbled bytes, a random
first part) and reads it with random scan parameters, eagerly and lazily. The outcome is
checked against an independent naive decoder of the mutated bytes:

* the decoder accepts the header and the parts: the data must equal its frames (through
  :func:`reference_scan` for a scan), with one ``TruncatedRecordingWarning`` naming the
  last part when it ends inside a record;
* otherwise only a documented exception: ``TVIPSFormatError`` naming the file, or a
  ``ValueError`` naming the bad parameter. Never ``IndexError``, ``TypeError``,
  ``MemoryError``, a numpy broadcast error, or a large allocation.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import tracemalloc
import warnings

import dask
import numpy as np
import pytest
from tvips_factory import make_frames, reference_scan, tvips_bytes

from intake_tvips import TruncatedRecordingWarning, TVIPSFormatError, file_reader
from intake_tvips.errors import ShortReadError

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: the series header's uint32 fields, in order
FIELDS = [
    "size",
    "version",
    "dimx",
    "dimy",
    "bitsperpixel",
    "offsetx",
    "offsety",
    "binx",
    "biny",
    "pixelsize",
    "ht",
    "magtotal",
    "frameheaderbytes",
]
#: no example may allocate more than this (tracemalloc peak, numpy buffers included)
MAX_PEAK_BYTES = 32 * 2**20
INTERESTING_U32 = [0, 1, 2, 8, 11, 12, 16, 32, 59, 60, 61, 255, 256, 257, 4096, 65535, 65536]
INTERESTING_U32 += [64, 65537, 2**20, 2**20 + 1, 2**31 - 1, 2**31, 2**32 - 1]


class Rejected(Exception):
    """The oracle's verdict: the input must be refused; ``kind`` says how."""

    def __init__(self, kind: str, names: tuple[str, ...] = ()):
        super().__init__(kind, names)
        self.kind, self.names = kind, names


# ------------------------------------------------------------------ the naive oracle


def naive_decode(parts: list[bytes]):
    """``(frames, truncated)`` of the parts, or :class:`Rejected` (``"format"``, part)."""
    p0 = parts[0]
    if len(p0) < 256:
        raise Rejected("format", (0,))
    h = dict(zip(FIELDS, struct.unpack("<13I", p0[:52])))
    ok = (
        h["size"] == 256
        and h["version"] in (1, 2)
        and h["bitsperpixel"] in (8, 16, 32, 64)
        and 1 <= h["dimx"] <= 65536
        and 1 <= h["dimy"] <= 65536
        and (h["version"] == 1 or 60 <= h["frameheaderbytes"] <= 2**20)
    )
    if not ok:
        raise Rejected("format", (0,))
    hb = 12 if h["version"] == 1 else h["frameheaderbytes"]
    dt = np.dtype(f"<u{h['bitsperpixel'] // 8}")
    pb = h["dimx"] * h["dimy"] * dt.itemsize
    rb = hb + pb
    frames, truncated = [], None
    for i, part in enumerate(parts):
        body = part[256:] if i == 0 else part
        n, rest = divmod(len(body), rb)
        if rest and i < len(parts) - 1:
            raise Rejected("format", (i,))
        if rest:
            truncated = (i, rest)
        for k in range(n):
            rec = body[k * rb + hb : (k + 1) * rb]
            frames.append(np.frombuffer(rec, dtype=dt).reshape(h["dimy"], h["dimx"]))
    arr = np.stack(frames) if frames else np.zeros((0, h["dimy"], h["dimx"]), dt)
    return arr, truncated


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def expected_result(frames: np.ndarray, kw: dict, lazy: bool, version: int):
    """The array the reader must return for ``kw``, or :class:`Rejected` with param names."""
    bad = []
    rech = kw.get("rechunking", "auto")
    if not (rech == "auto" or rech is False or rech is None or isinstance(rech, dict)):
        bad.append("rechunking")
    shape = kw.get("scan_shape")
    if shape is None:
        result = frames
    elif isinstance(shape, str):
        if shape != "auto":
            bad.append("scan_shape")
        # the winding and hysteresis apply to the scan found, so they are checked too
        # (the reader may refuse with either: no scan found, or the bad parameter)
        winding = kw.get("winding_scan_axis")
        if winding not in (None, "x", "y", 0, 1) or isinstance(winding, bool):
            bad.append("winding_scan_axis")
        if not _is_int(kw.get("hysteresis", 0)):
            bad.append("hysteresis")
        if bad:
            raise Rejected("param", tuple(bad))
        if version == 1:
            raise Rejected("param", ("scan_shape='auto'",))
        return "auto"
    else:
        if not (len(shape) >= 1 and all(_is_int(s) and s > 0 for s in shape)):
            bad.append("scan_shape")
        start = kw.get("scan_start_frame", 0)
        if not _is_int(start):
            bad.append("scan_start_frame")
        winding = {None: None, "x": "x", "y": "y", 0: "x", 1: "y"}.get(
            kw.get("winding_scan_axis"), "bad"
        )
        if winding == "bad" or isinstance(kw.get("winding_scan_axis"), bool):
            bad.append("winding_scan_axis")
        h = kw.get("hysteresis", 0)
        if not _is_int(h):
            bad.append("hysteresis")
        elif "scan_shape" not in bad and winding in ("x", "y") and len(shape) < 2:
            bad.append("winding_scan_axis")  # a line scan (n,) cannot wind
        if bad:
            raise Rejected("param", tuple(bad))
        if start + math.prod(shape) - 1 >= len(frames):
            raise Rejected("param", ("scan_shape",))
        if start + math.prod(shape) <= 0:  # ends before the recording: no frame to show
            raise Rejected("param", ("scan_shape",))
        result = reference_scan(frames, shape, start, winding, h)
    if bad:
        raise Rejected("param", tuple(bad))
    if lazy and isinstance(rech, dict) and not _good_rechunking(rech, result.shape):
        raise Rejected("param", ("rechunking",))
    return result


def _good_rechunking(rech: dict, shape: tuple[int, ...]) -> bool:
    """Axes that exist, each once; chunks a positive int, -1, None, or summing tuples."""
    ndim = len(shape)
    if any(not _is_int(k) or not -ndim <= k < ndim for k in rech):
        return False
    axes = [k % ndim for k in rech]
    if len(set(axes)) != len(axes):
        return False
    for axis, v in zip(axes, rech.values()):
        if v is None or (_is_int(v) and (v > 0 or v == -1)):
            continue
        whole = isinstance(v, tuple) and all(_is_int(c) and c > 0 for c in v)
        if whole and sum(v) == shape[axis]:
            continue
        return False
    return True


# ------------------------------------------------------------------ strategies


@st.composite
def recordings(draw):
    version = draw(st.sampled_from([1, 2]))
    fhb = 12 if version == 1 else draw(st.sampled_from([60, 61, 64, 76, 108]))
    dtype = draw(st.sampled_from(["<u1", "<u2"]))
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    n = draw(st.integers(0, 12))
    frames = make_frames(n, shape, dtype, seed=draw(st.integers(0, 2**16)))
    n_parts = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=n_parts - 1, max_size=n_parts - 1)))
    counts = np.diff([0, *cuts, n]).tolist()
    parts = tvips_bytes(frames, version=version, frameheaderbytes=fhb, records_per_part=counts)
    return frames, parts


part_index = st.integers(0, 3)
mutations = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.integers(0, 256 * 8 - 1), min_size=1, max_size=4)),
    st.tuples(
        st.just("field"),
        st.sampled_from(FIELDS),
        st.one_of(st.sampled_from(INTERESTING_U32), st.integers(0, 2**32 - 1)),
    ),
    st.tuples(st.just("truncate"), part_index, st.integers(0, 10_000)),
    st.tuples(st.just("append"), part_index, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("scribble"), part_index, st.integers(0, 10_000), st.binary(max_size=16)),
    st.tuples(st.just("random_part0"), st.binary(max_size=700)),
)


def mutate(parts: list[bytes], m) -> list[bytes]:
    parts = [bytearray(p) for p in parts]
    kind = m[0]
    if kind == "flip":
        for bit in m[1]:
            if bit // 8 < len(parts[0]):
                parts[0][bit // 8] ^= 1 << (bit % 8)
    elif kind == "field":
        i = FIELDS.index(m[1])
        parts[0][4 * i : 4 * i + 4] = struct.pack("<I", m[2])
    elif kind == "truncate":
        p = parts[m[1] % len(parts)]
        del p[m[2] % (len(p) + 1) :]
    elif kind == "append":
        parts[m[1] % len(parts)] += m[2]
    elif kind == "scribble":
        p = parts[m[1] % len(parts)]
        if p:
            at = m[2] % len(p)
            p[at : at + len(m[3])] = m[3][: len(p) - at]
    elif kind == "random_part0":
        parts[0] = bytearray(m[1])
    return [bytes(p) for p in parts]


ints_or_junk = st.one_of(st.integers(-2, 6), st.sampled_from([2.5, "a", True, None]))
scan_params = st.fixed_dictionaries(
    {},
    optional={
        "scan_shape": st.one_of(
            st.none(),
            st.sampled_from(["auto", "square", ""]),
            st.lists(ints_or_junk, max_size=4).map(tuple),
            st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
        ),
        "scan_start_frame": st.one_of(st.integers(-6, 8), st.sampled_from([1.5, "0"])),
        "winding_scan_axis": st.sampled_from([None, "x", "y", 0, 1, "z", 2, True]),
        "hysteresis": st.one_of(st.integers(-9, 9), st.just(0.5)),
        "rechunking": st.one_of(
            st.sampled_from(["auto", False, None, "yes", 5, [1]]),
            st.dictionaries(
                st.integers(-6, 6),
                st.one_of(
                    st.integers(-2, 4),
                    st.none(),
                    st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple),
                ),
                max_size=2,
            ),
        ),
    },
)


# ------------------------------------------------------------------ the property


def _write(parts: list[bytes], where: str, tmp: str) -> str:
    if where == "memory":
        import fsspec

        fs = fsspec.filesystem("memory")
        base = f"/tvips-test/{os.getpid()}/prop"
        for k in range(8):
            fs.store.pop(f"{base}_{k:03d}.tvips", None)
        for k, blob in enumerate(parts):
            fs.pipe_file(f"{base}_{k:03d}.tvips", blob)
        return f"memory://{base}_000.tvips"
    for k in range(8):
        path = os.path.join(tmp, f"prop_{k:03d}.tvips")
        if os.path.exists(path):
            os.unlink(path)
    for k, blob in enumerate(parts):
        with open(os.path.join(tmp, f"prop_{k:03d}.tvips"), "wb") as f:
            f.write(blob)
    return os.path.join(tmp, "prop_000.tvips")


def _check_one(url: str, parts: list[bytes], kw: dict, lazy: bool) -> None:
    try:
        frames, truncated = naive_decode(parts)
        expected = expected_result(frames, kw, lazy, struct.unpack("<I", parts[0][4:8])[0])
    except Rejected as verdict:
        expected, truncated = verdict, None
        if verdict.kind == "param":  # the format was fine: a warning may still come
            truncated = naive_decode(parts)[1]
    tracemalloc.reset_peak()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = file_reader(url, lazy=lazy, **kw)[0]
            data = out["data"].compute() if lazy else out["data"]
        except (TVIPSFormatError, ValueError, FileNotFoundError, ShortReadError) as err:
            _check_refusal(err, expected, url)
            data = None
    _, peak = tracemalloc.get_traced_memory()
    assert peak < MAX_PEAK_BYTES, f"allocated {peak} bytes"
    truncs = [w for w in caught if issubclass(w.category, TruncatedRecordingWarning)]
    # ResourceWarning: garbage of earlier tests (event loops of clusters) collected here
    others = [
        w
        for w in caught
        if not issubclass(w.category, (TruncatedRecordingWarning, ResourceWarning))
    ]
    assert not others, [str(w.message) for w in others]
    if truncated is not None and not (isinstance(expected, Rejected) and expected.kind == "format"):
        assert len(truncs) == 1, "a truncated last part warns exactly once"
        part, rest = truncated
        msg = str(truncs[0].message)
        assert f"prop_{part:03d}.tvips" in msg and f"last {rest} bytes" in msg
    else:
        assert not truncs
    if data is None:
        return
    assert not isinstance(expected, Rejected), f"accepted input the oracle refuses: {expected}"
    if isinstance(expected, str):  # "auto": every shown frame is a recorded frame
        assert data.ndim == 4 and data.shape[-2:] == frames.shape[-2:]
        flat = data.reshape((-1,) + frames.shape[1:])
        assert all(any(np.array_equal(f, g) for g in frames) for f in flat[:4])
        return
    assert data.dtype == expected.dtype
    assert data.shape == expected.shape
    np.testing.assert_array_equal(data, expected)


def _check_refusal(err: Exception, expected, url: str) -> None:
    if isinstance(expected, str):  # "auto" may find no scan, or a bad rechunking dict
        assert not isinstance(err, TVIPSFormatError), repr(err)
        assert "scan_shape='auto'" in str(err) or "rechunking" in str(err), repr(err)
        return
    assert isinstance(expected, Rejected), f"refused good input: {err!r}"
    msg = str(err)
    if expected.kind == "format":
        assert isinstance(err, TVIPSFormatError), repr(err)
        (part,) = expected.names
        assert f"prop_{part:03d}.tvips" in msg, msg
    elif not isinstance(err, TVIPSFormatError) or "scan_shape" in expected.names:
        # a bad parameter: the message names one of them (auto scans may also refuse)
        assert any(name in msg for name in expected.names + ("scan_shape='auto'",)), msg
    else:
        raise AssertionError(f"format error for a parameter problem: {err!r}")


@pytest.fixture(scope="module")
def tmpdir_module():
    with tempfile.TemporaryDirectory() as d:
        yield d


@settings(
    max_examples=int(os.environ.get("TVIPS_PROPERTY_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rec=recordings(),
    muts=st.lists(mutations, max_size=2),
    kw=scan_params,
    where=st.sampled_from(["file", "memory"]),
)
def test_mutated_recordings_give_data_or_documented_errors(tmpdir_module, rec, muts, kw, where):
    frames, parts = rec
    mutated = parts
    for m in muts:
        mutated = mutate(mutated, m)
    if not muts:  # the oracle itself: an untouched recording decodes to its frames
        np.testing.assert_array_equal(naive_decode(parts)[0], frames)
    url = _write(mutated, where, tmpdir_module)
    tracemalloc.start()
    try:
        with dask.config.set(scheduler="sync"):
            for lazy in (False, True):
                _check_one(url, mutated, kw, lazy)
    finally:
        tracemalloc.stop()
