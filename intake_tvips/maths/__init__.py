"""Index and scan maths, pure numpy: which frame is where, and at which byte."""
