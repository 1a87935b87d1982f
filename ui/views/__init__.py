"""The views of the main window and their editors."""
