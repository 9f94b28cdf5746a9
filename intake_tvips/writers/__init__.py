"""Writers: a 4-D array (numpy or dask) written in parallel, one task per block of scan
rows, at computed offsets: the ASTAR blockfile (``blockfile.py``) and TIFF stacks
(``tiff.py``)."""
