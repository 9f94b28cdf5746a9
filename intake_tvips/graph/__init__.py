"""Chunk plans and dask graphs: one task per chunk, each a picklable read recipe."""
