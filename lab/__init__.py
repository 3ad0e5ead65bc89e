"""The laboratory: everything the tutorial on the top level does not need to be read.
Its commands run from the repository's root, as `python -m lab.NAME` (see lab/README.md).
"""
