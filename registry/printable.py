"""Printable documents (PDF) the registry sends out: edit reports and query letters to reporting facilities.

One layout for every document: a title, a few lines saying what it is and for whom, then sections, each a
heading, optional paragraphs, an optional chart (a PNG image) and a table whose header repeats on every page. Built with fpdf2 (pure Python,
no system fonts needed); the core Helvetica font covers Latin-1, so other characters are replaced rather
than failing the whole document.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from fpdf import FPDF
from fpdf.fonts import FontFace

FONT = "Helvetica"


@dataclass(frozen=True)
class Section:
    """A heading, paragraphs of text, a chart and a table (each omitted when None)."""

    heading: str
    paragraphs: Sequence[str] = ()
    table: pd.DataFrame | None = None
    column_widths: Sequence[float] | None = None   # relative widths, one per table column
    image: bytes | None = None                     # a chart as PNG, placed full width above the table


@dataclass(frozen=True)
class Document:
    """What a printable document says, in order."""

    title: str
    lines: Sequence[str] = ()                      # under the title: addressee, period, who generated it
    sections: Sequence[Section] = field(default_factory=tuple)
    landscape: bool = True


def _latin1(text: object) -> str:
    """Text the core PDF font can draw: characters outside Latin-1 become '?'."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


class _Pages(FPDF):
    """fpdf2 with the registry's footer: document title, generation time and page x of y."""

    def __init__(self, title: str, generated: str, landscape: bool) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="Letter")
        self._footer_text = _latin1(f"{title} - generated {generated}")
        self.set_auto_page_break(auto=True, margin=15)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 5, self._footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R")


def _table(pdf: FPDF, frame: pd.DataFrame, widths: Sequence[float] | None) -> None:
    if frame.empty:
        pdf.set_font(FONT, style="I", size=9)
        pdf.multi_cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font(FONT, size=8)
    heading = FontFace(emphasis="BOLD", fill_color=(225, 230, 238))
    with pdf.table(col_widths=tuple(widths) if widths else None, headings_style=heading, line_height=4.5,
                   repeat_headings=1, text_align="LEFT") as table:
        table.row([_latin1(column) for column in frame.columns])
        for values in frame.itertuples(index=False):
            table.row(["" if pd.isna(value) else _latin1(value) for value in values])


def render(document: Document, *, generated: datetime | None = None) -> bytes:
    """The document as PDF bytes."""
    stamp = (generated or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    pdf = _Pages(document.title, stamp, document.landscape)
    pdf.set_title(_latin1(document.title))
    pdf.set_creator("Oncoregistry")
    pdf.add_page()
    pdf.set_font(FONT, style="B", size=15)
    pdf.multi_cell(0, 8, _latin1(document.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    for line in document.lines:
        pdf.multi_cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    for section in document.sections:
        pdf.ln(4)
        pdf.set_font(FONT, style="B", size=12)
        pdf.multi_cell(0, 7, _latin1(section.heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=10)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 5, _latin1(paragraph), new_x="LMARGIN", new_y="NEXT")
        if section.image is not None:
            pdf.ln(1)
            pdf.image(io.BytesIO(section.image), w=pdf.epw)
        if section.table is not None:
            pdf.ln(1)
            _table(pdf, section.table, section.column_widths)
    return bytes(pdf.output())
