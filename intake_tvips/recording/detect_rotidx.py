"""The scan from the frames' rotator index (``rotidx``; pure inference, no reads).

Every header read: RosettaSciIO's ``scan_shape="auto"`` rule
(:func:`~intake_tvips.maths.scan.auto_scan_indices`). From a sample: the same rule
when the rotator index counts 1, 2, 3, ... one frame each (searched for where it
starts and stops counting); anything else is left to every header.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import auto_scan_indices
from intake_tvips.recording.detect_frames import (
    HeaderValues,
    SamplingRules,
    Undecided,
    Wanted,
    first_change,
    last_holding,
    sample_confidence,
)


@dataclass(frozen=True)
class RotatorFinding:
    """A scan found from the rotator index."""

    start: int
    shape: tuple[int, int]
    confidence: float  # positions whose frame carries exactly that position's value
    one_per_position: bool  # one frame per position, in order (else: read with "auto")
    #: from a sample: (frames read in the scan, frames read, frames of the recording)
    sample: tuple[int, int, int] | None = None


def infer_rotator(values: HeaderValues, rules: SamplingRules):
    """:class:`RotatorFinding`, a note why there is none, or :class:`Wanted`."""
    if values.complete:
        return _from_every_header(values.rotator)
    return _from_sample(values, rules)


def _from_every_header(rotator: np.ndarray):
    try:
        grid = auto_scan_indices(rotator)
    except ValueError as err:
        return ("rotator_refused", str(err))
    side = grid.shape[0]
    total = side * side
    start = int(grid.flat[0])
    exact = rotator[grid.reshape(-1)] == np.arange(1, total + 1)
    stop = start + total
    in_order = stop <= rotator.size and np.array_equal(rotator[start:stop], np.arange(1, total + 1))
    return RotatorFinding(start, (side, side), float(exact.mean()), bool(in_order))


def _from_sample(values: HeaderValues, rules: SamplingRules):
    """RosettaSciIO's rule when the rotator index counts 1, 2, 3, ... one frame each."""
    last_same = first_change(values, (values.rotator,))
    if isinstance(last_same, Wanted):
        return last_same
    if last_same is None:
        raise Undecided("the rotator index is the same in every frame read")
    opening = values.missing(np.arange(last_same, last_same + rules.opening_frames))
    if opening is not None:
        return opening
    sel = values.since(last_same)
    run = sel[: int(np.sum(values.frame[sel] - last_same == np.arange(sel.size)))]
    rises = np.flatnonzero(np.diff(values.rotator[run]) > 0)
    if rises.size == 0:
        raise Undecided("the rotator index does not rise where it first changes")
    start = last_same + int(rises[0]) + (1 if values.rotator[run[rises[0]]] == 0 else 0)

    def counting(values, sel):
        return values.rotator[sel] == values.frame[sel] - start + 1

    stop = last_holding(values, start, counting)
    if isinstance(stop, Wanted):
        return stop
    if stop is None:
        raise Undecided(f"the rotator index at frame {start} is not 1")
    after = values.missing([stop + 1])
    if after is not None:
        return after
    inside = np.flatnonzero((values.frame >= start) & (values.frame <= stop))
    if not counting(values, inside).all():
        raise Undecided(
            "the rotator index skips or repeats positions (scan_shape='auto' needs every header)"
        )
    if np.any(np.diff(values.rotator[values.frame >= stop]) > 0):
        raise Undecided(f"the rotator index rises again after frame {stop}")
    total = stop - start + 1
    side = math.isqrt(total)
    if side * side != total:
        return ("rotator_not_square", total, stop)
    confidence = sample_confidence(inside.size, inside.size, total)
    sample = (int(inside.size), values.count, values.n_frames)
    return RotatorFinding(start, (side, side), confidence, True, sample)
