"""Atlas reports: text for people, JSON (synens-atlas/2) for tools.

Atlas JSON: {"format", "model", "picture": [W, H], "rule": {...}, "parts": [{"part", "share",
"candidates": [name, ...], "members": [s, ...], "sel"}], "unassigned_share",
"largest_part_share", "largest_segment_share", "candidates": [{"name", "kind", "pixels",
"ceiling", "sel", "k", "percentile", "specific", "members"}]}. Every sel is measured: a
re-render of the move scaled to the stated RMS change inside the region.
"""

from __future__ import annotations

import textwrap

import numpy as np
from synens.core.analysis.atlas import Atlas
from synens.core.reports.table import plain, table

FORMAT = "synens-atlas/2"


def atlas_report_json(atlas: Atlas, picture: tuple[int, int], model_path: str | None = None,
                      largest_segment: float | None = None) -> dict:
    """The atlas as a dict with the synens-atlas/2 keys."""
    parts = [{"part": i + 1, "share": p.share, "candidates": p.candidates,
              "members": p.members, "sel": p.sel} for i, p in enumerate(atlas.parts)]
    cands = [{"name": c.name, "kind": c.kind, "pixels": int(c.mask.sum()), "ceiling": c.ceiling,
              "sel": c.sel, "k": c.k, "percentile": c.percentile, "specific": c.specific,
              "members": c.members} for c in atlas.candidates]
    return plain({"format": FORMAT, "model": model_path, "picture": list(picture),
                  "rule": atlas.rule, "parts": parts,
                  "unassigned_share": float(np.mean(atlas.labels < 0)),
                  "largest_part_share": max((p.share for p in atlas.parts), default=0.0),
                  "largest_segment_share": largest_segment, "candidates": cands})


def atlas_report_text(atlas: Atlas, picture: tuple[int, int], model_path: str | None = None,
                      largest_segment: float | None = None) -> str:
    """The atlas for people: parts first (share, members, candidates), then every candidate."""
    n_spec = sum(c.specific for c in atlas.candidates)
    lines = ["synens-tui atlas", f"model:   {model_path or '(in memory)'}",
             f"picture: {picture[0]}×{picture[1]}", "",
             f"{len(atlas.parts)} parts from {n_spec} specific of {len(atlas.candidates)} "
             f"candidate regions; {np.mean(atlas.labels < 0):.0%} of the picture in no part"]
    if atlas.parts:
        largest = max(p.share for p in atlas.parts)
        seg = f"; the largest colour segment holds {largest_segment:.0%}" \
            if largest_segment is not None else ""
        lines.append(f"largest part: {largest:.0%} of the picture{seg}")
    rows = [[str(i + 1), f"{p.share:.1%}", str(p.members.size), f"{p.sel:.3g}",
             "; ".join(p.candidates)] for i, p in enumerate(atlas.parts)]
    lines += ["", "parts:"] + table(["part", "share", "synapses", "best sel", "candidates"], rows)
    rows = [[c.name, c.kind, str(int(c.mask.sum())), f"{c.ceiling:.3g}", f"{c.sel:.3g}",
             str(c.k), "–" if c.percentile is None else f"{c.percentile:.0f}",
             "yes" if c.specific else "no"] for c in atlas.candidates]
    lines += ["", "candidates:"] + table(
        ["region", "kind", "px", "ceiling sel", "ensemble sel", "k", "null pct", "specific"],
        rows)
    r = atlas.rule
    rule = (f"rule: candidates are {r['candidates']}; a candidate is specific when its ensemble "
            f"sel lies at or above the {r['specific_percentile']:g}th percentile of "
            f"{r['null_boxes']} seeded random boxes of its pixel count (seed {r['seed']}); "
            f"specific candidates whose ensembles overlap (Jaccard ≥ {r['merge_jaccard']:g}) "
            f"merge into one part; a pixel belongs to {r['pixel']}.")
    lines += ["", *textwrap.wrap(rule, 96, subsequent_indent="  ")]
    return "\n".join(lines) + "\n"
