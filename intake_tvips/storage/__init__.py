"""The storage edge: fsspec filesystems, retries, part discovery and byte-range reads."""
