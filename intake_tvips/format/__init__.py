"""The binary layout of a TVIPS stream: series header, frame headers, records. Pure, no I/O."""
