"""Scan detection's reason, in words, rendered from what the inference found.

Notes are tuples ``(code, *values)`` that the inference leaves on its way (why a source
gave nothing); findings are :class:`~.detect_xy.PositionFinding` and
:class:`~.detect_rotidx.RotatorFinding`. Nothing here decides anything.
"""

from __future__ import annotations

import math

from intake_tvips.recording.detect_frames import AUTO_SCAN_XY_CONFIDENCE, SAMPLE_CONFIDENCE_LEVEL
from intake_tvips.recording.detect_raster import explains_the_moves
from intake_tvips.recording.detect_rotidx import SQUARE_ASSUMED_CONFIDENCE, RotatorFinding
from intake_tvips.recording.detect_xy import PositionFinding

#: what a detection from the headers alone says of the hysteresis (the pixels' estimate
#: replaces it: :func:`intake_tvips.recording.pixels.with_pixels`)
HYSTERESIS_ASSUMED = "hysteresis cannot be read from the headers: 0 assumed"


def note_text(note: tuple) -> str:
    """One note in words."""
    code, *values = note
    if code == "positions_absent":
        return "the frame headers have no Scan_x/Scan_y (version 2, >= 76 bytes)"
    if code == "positions_zero":
        return "Scan_x/Scan_y are 0 in every frame" + ("" if values[0] else " read")
    if code == "positions_still":
        return "Scan_x/Scan_y never move from one position"
    if code == "no_raster":
        return "Scan_x/Scan_y: no raster of at most one position per frame fits"
    if code == "no_rotator":
        return "and no rotator index (a version 1 file)"
    if code == "rotator_refused":
        return values[0].replace("scan_shape='auto': ", "rotidx: ")
    if code == "rotator_not_square":
        return (
            f"rotidx: the rotator index reaches {values[0]} at frame {values[1]}, which is "
            "not a square scan; give scan_shape and scan_start_frame explicitly"
        )
    if code == "rotator_counter":
        side = math.isqrt(values[1])
        rule = (
            f"scan_shape='auto' still reads RosettaSciIO's {side} x {side} square"
            if side * side == values[1]
            else f"{values[1]} is not a square: scan_shape='auto' refuses it too"
        )
        return (
            f"rotidx: the rotator index counts every frame from the first to the last "
            f"({values[0]} frames, none before or after a scan): a frame counter, not scan "
            f"positions ({rule}); give scan_shape and scan_start_frame explicitly"
        )
    if code == "rotator_single":
        return (
            f"rotidx: the rotator index names a single position (frame {values[0]}): a "
            "stray value, not a scan"
        )
    raise ValueError(f"unknown detection note {note!r}")  # a bug, not bad input


def none_reason(notes) -> str:
    """Why no scan was found."""
    return "; ".join(note_text(n) for n in notes) + ": no scan found"


def rotator_reason(notes, found: RotatorFinding) -> str:
    """The reason of a scan from the rotator index (after the notes of the sources
    tried before it)."""
    (ny, nx), total = found.shape, found.shape[0] * found.shape[1]
    words = [note_text(n) for n in notes]
    rows = ""
    if found.row_from_positions:
        rows = f" (not a square: rows of {nx} frames, where Scan_x/Scan_y wrap)"
    elif not found.restarts:
        rows = " (square assumed: the count alone cannot tell other rows)"
    if found.restarts:
        words.append(
            f"rotidx: the rotator index counts 1 to {nx} and restarts, {ny} times from "
            f"frame {found.start} (the position within the row): a {ny} x {nx} scan"
        )
    else:
        words.append(
            f"rotidx (RosettaSciIO's scan_shape='auto' rule): the rotator index rises from "
            f"frame {found.start} to {total}, a {ny} x {nx} scan{rows}"
        )
    if found.restarts and found.backwards == "even":
        words.append("rows 0, 2, 4, ... count down (the index is x + 1): winding_scan_axis='x'")
    elif found.restarts and found.backwards != "none":
        which = {"odd": "rows 1, 3, 5, ...", "all": "every row"}.get(found.backwards, "some rows")
        words.append(
            f"{which} count down (the index is x + 1), which no winding_scan_axis expresses"
        )
    if found.restarts and found.strays:
        words.append(f"{found.strays} frame(s) of the scan off the count (strays)")
    elif found.strays:
        words.append(
            f"{found.strays} frame(s) with a rotator value off the count around them "
            "passed over as strays"
        )
    if found.one_per_position:
        words.append("one frame per position, in order")
    else:
        words.append(
            "some positions have several frames or none: read it with scan_shape='auto' "
            "(repeats the last frame for skipped positions, drops extra frames)"
        )
    words += _rotator_confidence(found)
    if found.winding_known:
        words.append("hysteresis cannot be read from rotidx: none assumed")
    else:
        words.append(
            "winding and hysteresis cannot be read from rotidx: none assumed "
            "(winding_assumed; the pixels can tell)"
        )
    return "; ".join(words)


def _rotator_confidence(found: RotatorFinding) -> list[str]:
    """How many positions hold their own rotator value, and the cap of an assumed
    square, in words."""
    if found.sample is None and found.restarts:
        words = [f"confidence {found.confidence:.1%}"]
    elif found.sample is None:
        words = [f"{found.confidence:.1%} of positions hold a frame with their own rotator value"]
    else:
        in_scan, read, n = found.sample
        words = [
            f"all {in_scan} frames read of the scan (headers of {read} of {n} frames read) "
            f"hold their own rotator value: at {SAMPLE_CONFIDENCE_LEVEL:.0%} confidence, at "
            f"least {found.confidence:.1%} of them do"
        ]
    if found.rows_assumed and found.confidence > SQUARE_ASSUMED_CONFIDENCE:
        words.append(
            f"confidence {SQUARE_ASSUMED_CONFIDENCE:.0%} at most: the square is assumed "
            "(detect_scan(pixels=True) asks the pixels for the rows)"
        )
    return words


def positions_reason(found: PositionFinding, trusted: bool) -> str:
    """The reason of a raster from ``Scan_x``/``Scan_y``; ``trusted``: whether
    ``scan_shape="auto"`` takes it."""
    raster = found.raster
    (ny, nx), start, winding = raster.shape, raster.start, raster.winding
    strays = (
        ""
        if start <= found.first_move + 1
        else " (moves before the scan are strays among the junk frames)"
    )
    words = [
        f"Scan_x/Scan_y: positions first move after frame {found.first_move}, the scan "
        f"starts at frame {start}{strays} and reaches x={nx - 1}, "
        f"y={raster.rows - 1 if winding != 'y' else ny - 1}",
        _winding_words(found),
    ]
    if found.x_only:
        words.insert(
            1,
            "Scan_y is 0 in every frame: the rows are where Scan_x wraps (or turns back), "
            "and a winding along y cannot be told from none",
        )
    if raster.rows > ny:
        words.append(
            f"the recording ends {start + raster.rows * nx - found.n_frames} frames before the "
            f"scan does; only the {ny} complete rows are kept"
        )
    words.extend(_agreement_words(found, trusted))
    words.append(HYSTERESIS_ASSUMED)
    return "; ".join(words)


def _winding_words(found: PositionFinding) -> str:
    raster = found.raster
    (ny, nx), start, winding = raster.shape, raster.start, raster.winding
    if found.odd_rows_backwards:
        return (
            "rows 1, 3, 5, ... run backwards, which no winding_scan_axis expresses (the "
            f"reader reverses rows 0, 2, 4, ...); best reader match: winding {winding!r}. "
            "Workaround: "
            f"scan_shape=({ny + 1}, {nx}), scan_start_frame={start - nx}, "
            "winding_scan_axis='x', then drop the first row"
        )
    if winding is None:
        return "every row runs forwards (x increasing): no winding"
    if winding == "x":
        return "rows 0, 2, 4, ... run backwards (x decreasing): winding_scan_axis='x'"
    return "columns 0, 2, 4, ... run backwards (y decreasing): winding_scan_axis='y'"


def _agreement_words(found: PositionFinding, trusted: bool) -> list[str]:
    raster, score = found.raster, found.confidence
    if not found.complete:
        return [
            f"all {raster.seen} frames read of the scan's {raster.size} (headers of "
            f"{found.frames_read} of {found.n_frames} frames read) have the position this "
            f"raster gives them: at {SAMPLE_CONFIDENCE_LEVEL:.0%} confidence, at least "
            f"{score:.1%} of them do"
        ]
    share = raster.agreeing / raster.size
    words = [f"{share:.1%} of the scan's frames have the position this raster gives them"]
    if found.rivals:
        words.append(
            f"{found.rivals} other raster(s) (another start or winding"
            f"{', or with Scan_x alone a walk the reader cannot express' if found.x_only else ''}"
            ") explain the frames as well: the headers cannot tell them apart"
        )
    if not explains_the_moves(raster, found.moves_after, found.moves_outside):
        words.append(
            f"{found.moves_outside} of the {found.moves_after} frames after the scan that "
            "move go to positions outside it: the raster does not explain the recording"
        )
    if score < share:
        use = "this raster" if trusted else "the rotator index"
        words.append(f"confidence {score:.1%}: scan_shape='auto' takes {use}")
    if share < AUTO_SCAN_XY_CONFIDENCE:
        if found.shifted:
            why = (
                "most of the others sit where the raster puts a frame a few frames away, "
                "to the end of the scan (a frame skipped or repeated)"
            )
        else:
            why = "the others are strays (no frame skipped or repeated for good)"
        use = "this raster" if trusted else "the rotator index"
        words.append(f"{why}: scan_shape='auto' takes {use}")
    return words
