"""pytest hooks of this scenario's tests: see ephi_testlib.pytest_xdist_make_scheduler."""
from ephi_testlib import pytest_xdist_make_scheduler  # noqa: F401  pylint: disable=unused-import
