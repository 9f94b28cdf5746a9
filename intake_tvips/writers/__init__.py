"""Writers: every format this package writes, one home.

The TVIPS writer (``tvips/``: ``file_writer``, streaming slab by slab into parts), Zarr v3
(``zarr.py``: ``to_zarr``), and the parallel writers of a 4-D array, one task per block of
scan rows at computed offsets: the ASTAR blockfile (``blockfile.py``) and TIFF stacks
(``tiff.py``).
"""
