"""HyperSpy signals from any fsspec URL: :func:`load_hyperspy`.

The same signal ``hs.load(path, reader="TVIPS", lazy=...)`` gives for a local file (class,
axes, metadata, original_metadata; only date and time differ, on purpose: ours are the
first frame's timestamp in UTC), built through HyperSpy's public API: ``Signal2D`` or
``LazySignal2D`` from the signal dictionary, then ``set_signal_type``, which looks the
type up in HyperSpy's extension registry. So ``signal_type="electron_diffraction"``
gives pyxem's ``ElectronDiffraction2D`` when pyxem is installed; without it the signal
keeps the type in its metadata, and a warning says which package would give its class.
HyperSpy is optional: ``pip install 'intake-tvips[hyperspy]'``.
"""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING

from intake_tvips.reading.reader import file_reader

if TYPE_CHECKING:  # HyperSpy is optional
    from hyperspy.signal import BaseSignal

#: the extra that brings HyperSpy
MISSING_HYPERSPY = "HyperSpy is not installed: pip install 'intake-tvips[hyperspy]'"
#: signal types of 2D signals that a HyperSpy extension provides: type -> (package, class)
EXTENSION_SIGNAL_TYPES = {
    "electron_diffraction": ("pyxem", "ElectronDiffraction2D"),
    "diffraction": ("pyxem", "Diffraction2D"),
}


class SignalTypeWarning(UserWarning):
    """The requested ``signal_type`` has no class here (its extension is not installed)."""


def _hyperspy_api():
    try:
        import hyperspy.api as hs
    except ImportError:
        raise ImportError(MISSING_HYPERSPY) from None
    return hs


def signal_from_dict(signal: dict, lazy: bool, signal_type: str | None = None):
    """The HyperSpy signal of a :func:`intake_tvips.file_reader` dictionary.

    ``lazy``: a ``LazySignal2D`` (``signal["data"]`` must then be a dask array, kept with
    its chunks) or a ``Signal2D``. ``signal_type``: ``None`` keeps the type the metadata
    holds (``"diffraction"`` in diffraction mode, as RosettaSciIO); a string sets it.
    """
    hs = _hyperspy_api()
    base = hs.signals.LazySignal2D if lazy else hs.signals.Signal2D
    s = base(
        signal["data"],
        axes=copy.deepcopy(signal["axes"]),
        metadata=copy.deepcopy(signal["metadata"]),
        original_metadata=copy.deepcopy(signal["original_metadata"]),
    )
    if signal_type is None:  # as hs.load: HyperSpy itself logs an unknown type
        s.set_signal_type(signal["metadata"].get("Signal", {}).get("signal_type", ""))
        return s
    s.set_signal_type(signal_type)  # HyperSpy's registry picks the class
    if signal_type and type(s) is base:
        _warn_unregistered(signal_type, base.__name__)
    return s


def _warn_unregistered(signal_type: str, class_name: str) -> None:
    package, cls = EXTENSION_SIGNAL_TYPES.get(signal_type, (None, None))
    if package is None:
        where = "no installed HyperSpy extension provides it (hs.print_known_signal_types())"
    else:
        where = f"install {package} to get its {cls} class"
    warnings.warn(
        f"signal_type {signal_type!r} has no signal class here: {where}; the signal is a "
        f"{class_name} with metadata.Signal.signal_type = {signal_type!r}",
        SignalTypeWarning,
        stacklevel=3,
    )


def load_hyperspy(url, lazy: bool = False, signal_type: str | None = None, **kwargs) -> BaseSignal:
    """Load a TVIPS recording from any fsspec URL as a HyperSpy signal.

    Parameters
    ----------
    url : str or os.PathLike
        The first part of the recording (local path or fsspec URL).
    lazy : bool
        ``True``: a ``LazySignal2D`` over the reader's lazy dask array (chunks of whole
        scan rows; nothing read until computed). ``False``: a ``Signal2D`` in memory.
    signal_type : str, optional
        E.g. ``"electron_diffraction"`` (pyxem's class when pyxem is installed).
        ``None``: what the metadata says.
    **kwargs
        Reader options of :func:`intake_tvips.file_reader`: ``scan_shape``,
        ``scan_start_frame``, ``winding_scan_axis``, ``hysteresis``, ``rechunking``,
        ``storage_options``.

    Returns
    -------
    hyperspy.signals.Signal2D or LazySignal2D (or the registered subclass)
    """
    _hyperspy_api()  # fail before reading anything when HyperSpy is missing
    [signal] = file_reader(url, lazy=lazy, **kwargs)
    return signal_from_dict(signal, lazy, signal_type)
