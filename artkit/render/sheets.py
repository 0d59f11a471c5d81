"""Labelled grid sheets: one axis down the rows, another across the columns.

A sheet is drawn from images the render already wrote (never regenerated), with
the other axes held at the sheet's ``where`` values (default: each axis's first
value). Column values are written in a band above the grid, row values in a margin
on its left, and the two axis names in the corner, so a printed sheet explains
itself. A combination the plan does not contain (possible with ``zip``) is an
empty cell. No torch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from artkit.errors import ArtkitError
from artkit.render.plan import Plan
from artkit.render.spec import SeriesSpec, SheetSpec
from artkit.render.template import fill

PADDING = 4
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def _font(cell: int) -> Any:
    size = max(10, min(16, cell // 6))
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sheet_cells(spec: SeriesSpec, plan: Plan, sheet: SheetSpec) -> tuple[list, list, list]:
    """(row values, column values, cells): each cell the image path or None."""
    rows_axis, cols_axis = spec.axis(sheet.rows), spec.axis(sheet.columns)
    row_values = list(rows_axis.values[: sheet.limit])
    col_values = list(cols_axis.values[: sheet.limit])
    base = {a.name: sheet.where.get(a.name, a.values[0]) for a in spec.axes}
    cells: list[Path | None] = []
    for r in row_values:
        for c in col_values:
            index = plan.index_of({**base, sheet.rows: r, sheet.columns: c})
            cells.append(None if index is None else spec.out / plan.job(index).path)
    return (
        [rows_axis.label(v) for v in row_values],
        [cols_axis.label(v) for v in col_values],
        cells,
    )


def draw_sheet(
    row_labels: list[Any],
    col_labels: list[Any],
    images: list[Image.Image | None],
    *,
    row_title: str,
    col_title: str,
    cell: int | None = None,
) -> Image.Image:
    """Lay ``images`` (row-major, None = empty) out under column and beside row labels."""
    present = [im for im in images if im is not None]
    if not present:
        raise ArtkitError("sheet: none of its images exist")
    if cell is None:
        cw = max(im.width for im in present)
        ch = max(im.height for im in present)
    else:
        cw = ch = cell
    font = _font(min(cw, ch))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = int(font.getbbox("Ag")[3]) + 2
    row_texts = [_text(v) for v in row_labels]
    col_texts = [_text(v) for v in col_labels]
    margin = int(max(probe.textlength(t, font=font) for t in [*row_texts, row_title])) + 2 * PADDING
    band = 2 * line_h + 2 * PADDING  # corner title line + column values line
    ncols, nrows = len(col_texts), len(row_texts)
    width = margin + ncols * (cw + PADDING) + PADDING
    height = band + nrows * (ch + PADDING) + PADDING
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((PADDING, PADDING), f"rows: {row_title}   columns: {col_title}", fill=INK, font=font)
    for j, text in enumerate(col_texts):
        x0 = margin + j * (cw + PADDING)
        shown = _fit(draw, text, font, cw)
        x = x0 + (cw - int(draw.textlength(shown, font=font))) // 2
        draw.text((x, PADDING + line_h + PADDING // 2), shown, fill=INK, font=font)
    for i, text in enumerate(row_texts):
        y = band + i * (ch + PADDING) + (ch - line_h) // 2
        draw.text((PADDING, y), text, fill=INK, font=font)
    for k, im in enumerate(images):
        if im is None:
            continue
        i, j = divmod(k, ncols)
        if im.width > cw or im.height > ch:
            im = im.copy()
            im.thumbnail((cw, ch), Image.Resampling.LANCZOS)
        rgb = im.convert("RGBA")
        x = margin + j * (cw + PADDING) + (cw - im.width) // 2
        y = band + i * (ch + PADDING) + (ch - im.height) // 2
        sheet.paste(rgb.convert("RGB"), (x, y), rgb.getchannel("A"))
    return sheet


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def render_sheet(spec: SeriesSpec, plan: Plan, sheet: SheetSpec) -> Path:
    """Draw one sheet from the rendered images and write it (atomically, with provenance)."""
    from artkit import __version__
    from artkit.images import save_image
    from artkit.media import picture as preview

    row_labels, col_labels, cells = sheet_cells(spec, plan, sheet)
    images = []
    for path in cells:
        if path is None:
            images.append(None)
            continue
        if not path.exists():
            raise ArtkitError(f"sheet {sheet.out}: {path} is missing; render the series first")
        images.append(preview(path))  # another medium's files: their preview (piano rolls)
    picture = draw_sheet(
        row_labels,
        col_labels,
        images,
        row_title=sheet.rows,
        col_title=sheet.columns,
        cell=sheet.cell,
    )
    target = spec.out / fill(sheet.out, {"series": spec.series, "index": 0}, key="sheet.out")
    provenance = {
        "artkit": __version__,
        "command": "render",
        "series": spec.series,
        "sheet": {
            "rows": sheet.rows,
            "columns": sheet.columns,
            "row_values": [_text(v) for v in row_labels],
            "column_values": [_text(v) for v in col_labels],
            "where": {k: _text(spec.axis(k).label(v)) for k, v in sheet.where.items()},
        },
    }
    return save_image(picture, target, provenance=provenance)
