"""`ledgerdesk sandbox`: a real process, real loopback HTTP, a clean stop on SIGTERM / Ctrl+Break."""

from __future__ import annotations

import json

import httpx
import pytest

from app.cli.main import main
from app.cli.sandboxes import SandboxUnavailable, build
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import PROVIDERS


def importable_providers() -> list[str]:
    found = []
    for provider in PROVIDERS:
        try:
            build(provider, SandboxOptions(size="tiny"))
        except SandboxUnavailable:
            continue
        found.append(provider)
    return found


def test_json_line_then_real_http_then_clean_stop(spawn, child_env, tmp_path):
    child = spawn("sandbox", "--provider", "accountingsuite", "--size", "tiny", "--json")
    described = json.loads(child.stdout_line())

    assert described["provider"] == "accountingsuite"
    assert described["url"].startswith("http://127.0.0.1:")
    assert [company["name"] for company in described["companies"]] == [
        "Maria Delgado Design", "Cedar & Pine Landscaping LLC", "Great Lakes Restaurant Supply Inc."]
    key = described["credentials"]["apisecretkey.1001"]
    answer = httpx.get(f"{described['url']}/companies", headers={"apisecretkey": key}, timeout=10)
    assert answer.status_code == 200
    assert "companies" in answer.json()

    child.interrupt()
    assert child.wait() == 0, child.stderr
    assert "stopped 1 sandbox" in child.stderr
    assert child.stdout.get(timeout=5) is None, "stdout carries nothing but the JSON line"
    log_text = (tmp_path / "home" / "logs" / "ledgerdesk.log").read_text(encoding="utf-8")
    assert "sandbox running" in log_text
    assert key not in log_text, "the log file must not hold a key"


def test_faults_from_the_command_line(spawn):
    child = spawn("sandbox", "--provider", "accountingsuite", "--size", "tiny", "--json",
                  "--error-rate", "1", "--drop-rate", "0.3", "--latency", "5", "--seed", "9")
    described = json.loads(child.stdout_line())
    faults = httpx.get(f"{described['url']}/_sandbox/faults", timeout=10).json()
    assert faults == described["faults"]
    assert (faults["error_rate"], faults["latency_ms"], faults["seed"]) == (1.0, 5, 9)
    assert faults["drop_before_rate"] == faults["drop_after_rate"] == pytest.approx(0.15)

    # Turn the drops off at run time, as the help says; every request then meets the proxy error.
    httpx.patch(f"{described['url']}/_sandbox/faults", json={"drop_before_rate": 0, "drop_after_rate": 0},
                timeout=10).raise_for_status()
    answer = httpx.get(f"{described['url']}/companies", timeout=10)
    assert answer.status_code in (500, 502, 503)
    assert answer.headers["content-type"].startswith("text/html")
    child.interrupt()
    assert child.wait() == 0, child.stderr


def test_all_runs_every_sandbox_that_imports_and_names_the_others(spawn):
    expected = importable_providers()
    child = spawn("sandbox", "--all", "--size", "tiny", "--json")
    child.wait_for_stderr("press Ctrl+C to stop")
    described = [json.loads(child.stdout_line(timeout=5)) for _ in expected]
    assert [d["provider"] for d in described] == expected
    assert len({d["url"] for d in described}) == len(expected)
    for missing in set(PROVIDERS) - set(expected):
        assert f"skipping {missing}: " in child.stderr
    child.interrupt()
    assert child.wait() == 0, child.stderr


@pytest.mark.parametrize("argv", [
    ["sandbox", "--provider", "accountingsuite", "--size", "huge"],
    ["sandbox", "--provider", "accountingsuite", "--error-rate", "1.5"],
    ["sandbox", "--provider", "accountingsuite", "--throttle", "maybe"],
    ["sandbox", "--provider", "nosuchservice"],
    ["sandbox"],
    ["--demo", "sandbox", "--all"],
    ["--quit-after", "1"],
])
def test_bad_command_lines_are_refused_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: ledgerdesk" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("ledgerdesk ")
