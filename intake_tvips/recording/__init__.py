"""A recording opened: parts, series header and frame index; header tables; scan detection."""
