"""Once through a real browser: Debian's headless Chromium opens the authorisation URL, the Clear Books
sandbox consents and redirects to the loopback listener, the code is exchanged with PKCE."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from app.auth.browser_flow import BrowserSignIn, complete_for
from app.auth.model import TokenSet
from tests.auth.helpers import oauth_app, run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/setup-test.sh installs Debian's "
                                             "`chromium`; elsewhere install it to run this test)")
def test_sign_in_through_headless_chromium(served, workspace, backend, tmp_path):
    sandbox = served("clearbooks")
    app = oauth_app(sandbox)
    browsers: list[subprocess.Popen] = []

    def chromium(url: str) -> bool:
        browsers.append(subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return True

    flow = BrowserSignIn(app, opener=chromium, timeout=60)
    try:
        connection = run(flow.run(complete_for(app, commit=workspace.add)), timeout=90)
    finally:
        for browser in browsers:  # only the processes this test started
            browser.terminate()
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait(timeout=10)

    assert len(browsers) == 1
    assert [c.id for c in connection.companies] == ["184501", "184502", "184503"]
    tokens = TokenSet.loads(workspace.vault.get(connection.id, "tokens"))
    assert tokens.access_token and tokens.refresh_token
    assert "code_challenge_method=S256" in sandbox.requests("GET", "/account/action/oauth/")[0].query
    listener = flow.listener
    assert listener.closed and listener.requests >= 1
    with pytest.raises(OSError):
        socket.create_connection((listener.host, listener.port), timeout=2).close()
