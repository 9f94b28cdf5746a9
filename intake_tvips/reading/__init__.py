"""Reading: a recording as a signal, the Python API under ``file_reader``.

``opened.py`` opens a recording with its scan map, axes and metadata (no graph);
``reader.py`` makes it numpy or a lazy dask array (RosettaSciIO's ``file_reader``);
``metadata.py`` builds RosettaSciIO's axes and metadata dicts; ``info.py`` summarises a
recording from its headers; ``scan_frames.py`` says which frame sits at each scan position.
"""
