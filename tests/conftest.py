import os

# Qt needs a platform plugin; there is no screen in CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
