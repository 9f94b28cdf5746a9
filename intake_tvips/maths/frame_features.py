"""A few numbers per frame that carry the sample: the basis the raster fit works in.

Pure numpy, no I/O. Each frame's detector-cell sums are standardized cell by cell and
rotated onto their principal components; the components kept are those that rise above
the noise (:func:`feature_basis`). Where the sample's signal sits in a few cells only (a
small bright-field disc on a large detector, a disc moving across the cells with the
descan), no principal component rises far above the cells of noise, yet the frames still
change smoothly from one scan position to the next. Then the directions along which
neighbouring frames look most alike are kept instead (maximum autocorrelation factors):
noise, fresh in every frame, has none of that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_COMPONENTS", "FeatureBasis", "feature_basis", "project", "standardized"]

#: principal components kept at most
MAX_COMPONENTS = 6
#: a principal component rises above the noise where its variance exceeds this many
#: times the median component's
ABOVE_MEDIAN = 4.0
#: a cell takes part where its neighbouring frames correlate this many standard errors
#: (``1 / sqrt(frames)``) above 0 (noise: one cell in about 300,000)
CELL_Z = 4.5
#: a direction kept for its autocorrelation needs at least this correlation between
#: neighbouring frames ...
MIN_AUTOCORRELATION = 0.5
#: ... and this many times ``sqrt(2 q / n)``, about the strongest white noise reaches
#: among ``q`` directions of ``n`` frames
NOISE_EDGE = 2.0


@dataclass(frozen=True)
class FeatureBasis:
    """Directions in the standardized cell sums (``(cell_sums - mean) / std``) to project
    frames on (:func:`project`). ``autocorrelated``: they are the directions neighbouring
    frames correlate along (:func:`autocorrelated`), no principal component having
    risen above the noise; rules calibrated on principal components (how the steps
    between frames alternate) are not to be trusted on them alone."""

    mean: np.ndarray
    std: np.ndarray
    components: np.ndarray
    autocorrelated: bool = False


def feature_basis(cell_sums: np.ndarray) -> FeatureBasis | None:
    """The principal components of the standardized cell sums that rise above the
    noise (variance above ``ABOVE_MEDIAN`` times the median component's); where none
    does, the directions whose values correlate between neighbouring frames
    (:func:`autocorrelated`); ``None`` when neither finds any. ``cell_sums``:
    ``(frames, cells)`` in acquisition order."""
    if cell_sums.shape[0] < 3:
        return None
    x, mean, std = standardized(cell_sums)
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    lam = sv**2 / cell_sums.shape[0]
    keep = lam > ABOVE_MEDIAN * max(float(np.median(lam)), 1e-12)
    keep[MAX_COMPONENTS:] = False
    if keep.any():
        return FeatureBasis(mean, std, vt[keep].T)
    components = autocorrelated(x)
    return FeatureBasis(mean, std, components, True) if components.shape[1] else None


def standardized(cell_sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, mean, std)``: each cell's sums less their mean over the frames, over their
    spread (1 where they do not vary), with that mean and spread."""
    mean, std = cell_sums.mean(axis=0), cell_sums.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (cell_sums - mean) / std, mean, std


def autocorrelated(x: np.ndarray) -> np.ndarray:
    """``(cells, k)``: the directions of ``x`` (``(frames, cells)``, centred) along which
    neighbouring frames correlate most (:func:`correlated_at`), at most
    ``MAX_COMPONENTS``, each of unit variance over ``x``; ``k`` may be 0. Neighbours
    are the next frame, else the one after (winding ``"y"`` alternates between two rows
    of the sample far apart: the sample's neighbours are two frames apart)."""
    found = correlated_at(x, 1)
    return found if found.shape[1] else correlated_at(x, 2)


def correlated_at(x: np.ndarray, lag: int) -> np.ndarray:
    """:func:`autocorrelated`'s directions for frames ``lag`` apart. Only cells whose
    own frames ``lag`` apart correlate (``CELL_Z``) take part; among their ``q``
    whitened directions, the variance of the steps between frames ``lag`` apart along
    one is ``2 (1 - r)``, ``r`` their correlation, so the smallest eigenvalues of the
    steps' covariance give the most correlated directions (maximum autocorrelation
    factors), kept where ``r`` reaches ``MIN_AUTOCORRELATION`` and
    ``NOISE_EDGE * sqrt(2 q / n)``."""
    n, p = x.shape
    none = np.zeros((p, 0))
    if n < 8 * lag:
        return none
    a, b = x[:-lag], x[lag:]
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    r_cell = np.divide((a * b).sum(axis=0), den, out=np.zeros(p), where=den > 0)
    cells = r_cell > CELL_Z / np.sqrt(n)
    vals, vecs = np.linalg.eigh(x[:, cells].T @ x[:, cells] / n)
    real = vals > 1e-9 * max(float(vals.max(initial=0.0)), 1e-300)
    if not real.any():
        return none
    white = x[:, cells] @ (whiten := vecs[:, real] / np.sqrt(vals[real]))
    steps = white[lag:] - white[:-lag]
    step_vals, step_vecs = np.linalg.eigh(steps.T @ steps / (n - lag))
    r = 1.0 - step_vals / 2.0  # ascending step variance: most correlated first
    need = max(MIN_AUTOCORRELATION, NOISE_EDGE * float(np.sqrt(2 * real.sum() / n)))
    chosen = np.flatnonzero(r >= need)[:MAX_COMPONENTS]
    out = np.zeros((p, chosen.size))
    out[cells] = whiten @ step_vecs[:, chosen]
    return out


def project(cell_sums: np.ndarray, basis: FeatureBasis) -> np.ndarray:
    """Frames' cell sums in the components of ``basis`` (:func:`feature_basis`)."""
    return ((cell_sums - basis.mean) / basis.std) @ basis.components
