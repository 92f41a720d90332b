"""Reports: text, JSON and figures for each analysis, with their shared table helpers."""
