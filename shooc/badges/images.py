"""Badge images: a designed PNG per workbook when the course leader supplies none.

Drawn with Pillow (which ReportLab needs anyway) in a font shipped as a Python
package, so every machine draws the same image.
"""
from __future__ import annotations

import io
import textwrap
from functools import cache, lru_cache
from pathlib import Path

import font_source_sans_pro
from PIL import Image, ImageDraw, ImageFont

SIZE = 600
# One colour per workbook position (cycled): distinct, and dark enough for white text.
PALETTE = [("#1f5f8b", "#0f3a57"), ("#1e7b4f", "#0f4a2e"), ("#8a3b8f", "#55205a"),
           ("#b4531a", "#73320c"), ("#2f4f9e", "#1b2f63"), ("#8f6a12", "#5a4108")]
FONTS = Path(font_source_sans_pro.__file__).parent / "files"


@cache
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / f"SourceSansPro-{weight}.ttf"), size)


@lru_cache(maxsize=64)
def draw_badge(position: int, title: str, course_title: str) -> bytes:
    """A round medal: the workbook's number, its title and the course's name (the
    PNG's bytes, kept for the arguments seen before: drawing one takes about 40 ms)."""
    light, dark = PALETTE[(position - 1) % len(PALETTE)]
    scale = 2  # drawn at twice the size, then reduced: smooth edges
    s = SIZE * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, s - 1, s - 1), fill=dark)
    ring = 22 * scale
    draw.ellipse((ring, ring, s - ring, s - ring), fill=light)
    inner = 44 * scale
    draw.ellipse((inner, inner, s - inner, s - inner), outline="#ffffff", width=4 * scale)

    centre = s // 2
    draw.text((centre, 135 * scale), "WORKBOOK", font=_font("Semibold", 34 * scale), fill="#ffffff", anchor="mm")
    draw.text((centre, 230 * scale), str(position), font=_font("Bold", 150 * scale), fill="#ffffff", anchor="mm")
    lines = textwrap.wrap(title, width=18)[:3]
    size = 44 if len(lines) < 3 else 38
    y = (345 if len(lines) > 1 else 360) * scale
    for line in lines:
        draw.text((centre, y), line, font=_font("Bold", size * scale), fill="#ffffff", anchor="mm")
        y += int(size * 1.15 * scale)
    # the course's name, in at most two short lines that keep inside the white ring
    course_lines = textwrap.wrap(course_title, width=26)
    if len(course_lines) > 2:
        course_lines = [course_lines[0], textwrap.shorten(" ".join(course_lines[1:]), width=26, placeholder="…")]
    y = (478 if len(course_lines) > 1 else 490) * scale
    for line in course_lines:
        draw.text((centre, y), line, font=_font("Regular", 23 * scale), fill="#e8eef5", anchor="mm")
        y += 27 * scale

    # each pixel the mean of its 2 x 2 drawn ones (what drawing at twice the size is
    # for): a quarter of the time of a Lanczos resize, for the same smooth edges
    image = image.reduce(scale)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def with_text_chunk(png: bytes, keyword: str, text: str) -> bytes:
    """The PNG with an uncompressed iTXt chunk (PNG 1.2, 11.3.4.5) before IEND, as Open
    Badges 3.0 bakes a credential (keyword ``openbadgecredential``). openbadges-bakery
    writes only the 2.0 ``openbadges`` chunk; an iTXt chunk is a few bytes by hand."""
    import struct
    import zlib

    iend = png.rindex(b"IEND") - 4  # the chunk starts with its 4-byte length
    data = keyword.encode("latin-1") + b"\0\0\0" + b"\0" + b"\0" + text.encode("utf-8")
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    return png[:iend] + chunk + png[iend:]


def text_chunks(png: bytes) -> dict[str, str]:
    """The PNG's iTXt chunks (uncompressed), keyword to text: what a wallet reads back."""
    import struct

    found, position = {}, 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position:position + 4])
        kind = png[position + 4:position + 8]
        data = png[position + 8:position + 8 + length]
        if kind == b"iTXt":
            keyword, _, rest = data.partition(b"\0")
            if rest[:1] == b"\0":  # not compressed
                _language, _, rest = rest[2:].partition(b"\0")
                _translated, _, text = rest.partition(b"\0")
                found[keyword.decode("latin-1")] = text.decode("utf-8")
        position += 12 + length
    return found
