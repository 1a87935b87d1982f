"""Signing in to the services and keeping what a sign-in yields.

- ``browser_flow``: the OAuth code flow in the system browser (RFC 8252): ``loopback`` listener, ``pkce``,
  ``pages`` for the browser tab, ``exchange`` of the code per service; ``headless`` plays the browser with
  an HTTP client where the service consents at once (the demo, tests).
- ``signin``: sign-ins with a pasted key or a client id and secret, checked at once.
- ``vault``: every secret in the OS keyring; ``tokens``: OAuth tokens renewed safely, one refresh at a
  time per connection.
- ``clients``: a signed-in provider client for one company of a connection (``app.workspace``).
- ``demo_signin``: ``ledgerdesk --demo`` signing in to the four sandboxes through all of the above.
"""
