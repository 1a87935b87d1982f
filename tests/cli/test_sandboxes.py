"""Turning command-line settings into sandbox options, and telling "not written yet" apart."""

from __future__ import annotations

import argparse

import pytest

from app.cli import sandboxes
from app.cli.sandboxes import Faults, SandboxUnavailable, build, data_file, parse_rate, parse_size
from providers.sandbox.base import SandboxOptions


def test_sizes_and_rates():
    assert parse_size("tiny") == "tiny" and parse_size("large") == "large" and parse_size("2500") == 2500
    assert parse_rate("0") == 0 and parse_rate("0.25") == 0.25 and parse_rate("1") == 1
    for bad in ("0", "-3", "huge", "1e3"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)
    for bad in ("-0.1", "1.01", "half"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_rate(bad)


def test_drop_rate_is_split_between_before_and_after_the_write():
    settings = Faults(latency_ms=20, error_rate=0.1, drop_rate=0.3).settings()
    assert settings == {"latency_ms": 20, "error_rate": 0.1, "drop_before_rate": 0.15, "drop_after_rate": 0.15}


def test_one_data_file_per_provider_when_several_run(tmp_path):
    assert data_file(None, "clearbooks", several=True) is None
    assert data_file(str(tmp_path / "one.sqlite"), "clearbooks", several=False) == str(tmp_path / "one.sqlite")
    assert data_file(str(tmp_path / "sub" / "demo.sqlite"), "accbooks", several=True) == str(
        tmp_path / "sub" / "demo-accbooks.sqlite")
    assert (tmp_path / "sub").is_dir()


def test_a_sandbox_module_that_does_not_import_is_unavailable_not_a_crash(monkeypatch):
    def half_written(provider):
        raise SyntaxError("invalid syntax (sandbox.py, line 40)")

    monkeypatch.setattr(sandboxes, "sandbox_class", half_written)
    with pytest.raises(SandboxUnavailable) as unavailable:
        build("clearbooks", SandboxOptions(size="tiny"))
    assert unavailable.value.provider == "clearbooks"
    assert "providers/clearbooks/sandbox.py does not import yet (SyntaxError" in unavailable.value.reason


def test_faults_and_their_seed_reach_the_sandbox():
    sandbox = build("accountingsuite", SandboxOptions(size="tiny"), Faults(latency_ms=7, drop_rate=0.5), fault_seed=3)
    settings = sandbox.stack.faults.settings
    assert (settings.latency_ms, settings.drop_before_rate, settings.drop_after_rate, settings.seed) == (7, .25, .25, 3)


def test_unknown_provider():
    with pytest.raises(ValueError, match="unknown provider"):
        build("quickbooks", SandboxOptions())
