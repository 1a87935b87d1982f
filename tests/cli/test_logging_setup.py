"""The log file and its redaction: secrets never reach a file that users attach to bug reports."""

from __future__ import annotations

import logging

import pytest

from app.cli.logging_setup import REDACTED, close_logging, redact, setup_logging

SECRETS = [
    ("Authorization: Bearer eyJhbGciOi.abc-DEF_123", "Authorization: Bearer "),
    ("authorization=Basic dXNlcjpwYXNz", "authorization=Basic "),
    ("headers=[(b'authorization', b'Bearer tok-777'), (b'host', b'x')]", "(b'authorization', b'Bearer "),
    ("apisecretkey: UwCtmqvbPoIUMNKbeoTq", "apisecretkey: "),
    ('{"access_token":"AT-1","token_type":"bearer","refresh_token":"RT-2"}', '"access_token":"'),
    ("grant_type=refresh_token&refresh_token=r-123&client_secret=s3cr3t&client_id=abc", "refresh_token="),
    ("{'client_secret': 'eAlULLwxFGzMOsETSqDk', 'login': 'apidemo@demo.com'}", "'client_secret': '"),
    ("{'apisecretkey.1001': 'oxZUGGSoyYxRHokXaRMj'}", "'apisecretkey.1001': '"),
    ("<soap:Header><AccessToken>tok-99</AccessToken></soap:Header>", "<AccessToken>"),
    ("X-Api-Key=k1-k2-k3 accepted", "X-Api-Key="),
    ("retrying with bearer abcdefghijkl", "bearer "),
]


@pytest.mark.parametrize(("text", "kept"), SECRETS)
def test_secret_values_are_redacted(text, kept):
    cleaned = redact(text)
    assert kept + REDACTED in cleaned
    for secret in ("eyJhbGciOi", "dXNlcjpwYXNz", "tok-777", "UwCtmq", "AT-1", "RT-2", "r-123", "s3cr3t",
                   "eAlULL", "oxZUGG", "tok-99", "k1-k2", "abcdefghijkl"):
        assert secret not in cleaned


@pytest.mark.parametrize("text", [
    "{'token_path': '/oauth/oauth_token', 'api_path': '/'}",
    '{"token_type":"bearer","expires_in":3600}',
    "GET /invoices?limit=200 -> 200",
    "the Bearer token is missing",
    "client_id=abc&grant_type=authorization_code",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_the_log_file_is_in_the_log_folder_and_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGERDESK_HOME", str(tmp_path))
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        path = setup_logging()
        logger = logging.getLogger("ledgerdesk.test")
        logger.info("token answer %s", {"access_token": "AT-secret-1", "expires_in": 3600})
        try:
            raise RuntimeError("refused: refresh_token=RT-secret-2")
        except RuntimeError:
            logger.exception("sign-in failed")
        close_logging()
        text = path.read_text(encoding="utf-8")
    finally:
        close_logging()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    assert path == tmp_path / "logs" / "ledgerdesk.log"
    assert "token answer" in text and "sign-in failed" in text and "RuntimeError" in text
    assert "AT-secret-1" not in text and "RT-secret-2" not in text
    # Whichever filter got there first left its mark (both run on every handler).
    assert text.count(REDACTED) + text.count("***") >= 2  # the traceback also quotes the source line
