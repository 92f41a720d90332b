"""synens.tui: the Textual explorer and the headless command line."""
