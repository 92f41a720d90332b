"""The headless commands: train, render, report, atlas, basis. They never import Textual."""
