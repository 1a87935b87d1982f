"""The command line: `ledgerdesk --demo`, `ledgerdesk sandbox ...`, `ledgerdesk --version`.

Qt is imported only by the commands that open a window, so `ledgerdesk sandbox` starts fast and runs
on a machine without a display.
"""
