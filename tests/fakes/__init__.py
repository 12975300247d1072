"""Stand-ins for outside systems the tests need but cannot install (see pycaffe.py)."""
