"""`python -m squeeze_convert`: the `squeeze-convert` command under the package's own name."""
