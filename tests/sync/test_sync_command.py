"""`ledgerdesk sync`: headless sync of a demo company, or of a sandbox company named by a connection file."""

from __future__ import annotations

import json

import pytest

from app.cli.main import main
from app.store import CUSTOMERS, CompanyStore, Filters, tables
from app.sync.connections import Connection


def test_sync_demo_pulls_a_company_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEDGERDESK_HOME", str(tmp_path))
    store = tmp_path / "demo.sqlite"
    assert main(["sync", "--demo", "--size", "tiny", "--store", str(store), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] and result["received"] > 0 and result["outbox"]["pending"] == 0
    assert "pull customers" in err  # progress on stderr
    with CompanyStore.open(store) as company:
        assert company.count(CUSTOMERS, Filters()) > 0


def test_sync_a_company_of_a_running_sandbox_from_a_connection_file(accountingsuite, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEDGERDESK_HOME", str(tmp_path))
    connection = tmp_path / "connection.json"
    accountingsuite.connection.save(connection)
    store = tmp_path / "company.sqlite"
    assert main(["sync", "--company", "1001", "--connection", str(connection), "--store", str(store), "-q"]) == 0
    assert "done in" in capsys.readouterr().out
    with CompanyStore.open(store) as company:
        customer = company.get(tables.CUSTOMERS, 1)
        company.save(tables.CUSTOMERS, customer.model_copy(update={"phone": "from the command line"}))
    assert main(["sync", "--company", "1001", "--connection", str(connection), "--store", str(store),
                 "--push-only", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["pushed"] == 1


def test_a_connection_file_may_only_point_at_this_computer(tmp_path):
    path = tmp_path / "remote.json"
    Connection("clearbooks", "https://api.clearbooks.co.uk", "1", {"client_secret": "x"}).save(path)
    with pytest.raises(ValueError, match="sandbox on this computer"):
        Connection.load(path)


def test_company_needs_a_connection(capsys):
    assert main(["sync", "--company", "1001"]) == 2
    assert "--connection" in capsys.readouterr().err
