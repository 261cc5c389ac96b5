"""Atomic writes (desghost.atomic) and failure reasons (desghost.errors)."""
import pytest

from desghost.atomic import atomic_path
from desghost.errors import CorruptFileError, failure_reason


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "x.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["x.txt"]


def test_failure_reason_keeps_desghost_exit_codes_and_names_internal_errors():
    assert failure_reason(CorruptFileError("x.fits.fz: HDU 3 truncated")) == ("x.fits.fz: HDU 3 truncated", 4)
    assert failure_reason(ZeroDivisionError("boom")) == ("internal error: ZeroDivisionError: boom", 1)
