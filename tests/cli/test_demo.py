"""`ledgerdesk --demo` headless, as CI runs it: starts, serves, quits by itself, exits 0."""

from __future__ import annotations

import os


def test_demo_quits_by_itself_and_leaves_a_log(spawn, tmp_path):
    child = spawn("--demo", "--quit-after", "3")
    assert child.wait(timeout=90) == 0, child.stderr
    log_file = tmp_path / "home" / "logs" / "ledgerdesk.log"
    assert log_file.is_file()
    log_text = log_file.read_text(encoding="utf-8")
    assert "demo ready:" in log_text
    assert "sandbox accountingsuite running at http://127.0.0.1:" in log_text
    assert "demo ended with exit code 0" in log_text


def test_demo_without_ledgerdesk_home_stays_in_a_temporary_folder(spawn, child_env, tmp_path):
    """Never the user's real folders: with HOME and the XDG folders pointed at an empty place, the demo
    writes only to its temporary folder, and removes that when it ends well."""
    env = {key: value for key, value in child_env.items()
           if key != "LEDGERDESK_HOME" and not key.startswith("XDG_")}
    user_home, temp = tmp_path / "user", tmp_path / "temp"
    user_home.mkdir()
    temp.mkdir()
    env.update(HOME=str(user_home), USERPROFILE=str(user_home), TMPDIR=str(temp), TEMP=str(temp), TMP=str(temp))
    child = spawn("--demo", "--quit-after", "0.5", env=env)
    assert child.wait(timeout=90) == 0, child.stderr
    assert "Demo files are in" in child.stderr
    # Only our own files count: fontconfig may refresh its cache under ~/.cache on any Qt start.
    assert not [path for path in user_home.rglob("*") if "ledgerdesk" in path.name.lower()]
    assert not [name for name in os.listdir(temp) if name.startswith("ledgerdesk-demo-")]
