"""Colour themes for the rendered figure.

Colour is never the only carrier of meaning: every role also has its own node shape and a word in
its label (``condense``, ``embed``, ``expand``, ``AADS ↓2``), so a figure printed in greyscale reads
the same. A theme only picks fills, lines and fonts.

``paper`` (the default) uses the colours of the AttendNeXt paper's Figure 1 (condenser layers
orange, embedding layers yellow, expansion layers blue) on white; ``dark`` the same roles on a dark
background; ``mono`` greys only, for print.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    name: str
    summary: str
    background: str
    font: str
    text: str
    muted: str  # secondary text (shapes, arguments) and edges
    line: str  # node outlines
    node: str  # fill of ordinary op and block boxes
    merge: str  # fill of merge circles
    downsample: str  # fill of downsampling (AADS, strided) nodes
    io: str  # fill of the input and output nodes
    stage: str  # fill of stage clusters
    stage_line: str
    group: str  # fill of columns / repeat / block clusters
    group_line: str
    column: str  # fill of column clusters
    condense: str  # DC-AC condenser layers (paper: orange)
    embed: str  # DC-AC embedding layers (paper: yellow)
    expand: str  # DC-AC expansion layers (paper: blue)
    attention: str  # DC-AC / attention-condenser cluster fill


PAPER = Theme(
    name="paper",
    summary="white background, Figure-1 colours (condense orange, embed yellow, expand blue)",
    background="white",
    font="Helvetica",
    text="#1a1a1a",
    muted="#555555",
    line="#333333",
    node="#ffffff",
    merge="#ffffff",
    downsample="#d9d9d9",
    io="#f2f2f2",
    stage="#f7f7f7",
    stage_line="#4d4d4d",
    group="#ffffff",
    group_line="#7f7f7f",
    column="#eef3f8",
    condense="#f4a04a",
    embed="#ffe066",
    expand="#7fb2e5",
    attention="#fff8ec",
)

DARK = Theme(
    name="dark",
    summary="dark background for slides and dark-mode pages, the same role colours",
    background="#1e1e1e",
    font="Helvetica",
    text="#eeeeee",
    muted="#b0b0b0",
    line="#cfcfcf",
    node="#2d2d2d",
    merge="#2d2d2d",
    downsample="#4a4a4a",
    io="#383838",
    stage="#262626",
    stage_line="#9e9e9e",
    group="#2a2a2a",
    group_line="#8a8a8a",
    column="#263040",
    condense="#b5651d",
    embed="#9c8422",
    expand="#2f5f8f",
    attention="#33291c",
)

MONO = Theme(
    name="mono",
    summary="greys only, for print; roles told apart by shape and label",
    background="white",
    font="Helvetica",
    text="#000000",
    muted="#404040",
    line="#000000",
    node="#ffffff",
    merge="#ffffff",
    downsample="#bfbfbf",
    io="#ececec",
    stage="#f7f7f7",
    stage_line="#000000",
    group="#ffffff",
    group_line="#404040",
    column="#f0f0f0",
    condense="#a6a6a6",
    embed="#e6e6e6",
    expand="#cccccc",
    attention="#fafafa",
)

THEMES: dict[str, Theme] = {t.name: t for t in (PAPER, DARK, MONO)}
