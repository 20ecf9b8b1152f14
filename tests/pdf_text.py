"""The text of a PDF that Chromium printed (Skia), for tests that check what a saved PDF says.

No PDF library is a dependency, and Chromium's PDFs are simple: uncompressed object tables,
Flate content streams, Type0 fonts with Identity-H encoding and a ToUnicode CMap each, and text
drawn with ``<hex> Tj``. This reads exactly that, page by page, through each page's own font
resources, and raises if it meets anything else rather than guessing.
"""

from __future__ import annotations

import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_REF = rb"(\d+) 0 R"


def pdf_text(data: bytes) -> str:
    """Every page's text, text objects separated by spaces, pages by newlines."""
    objects = {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(data)}
    pages = [n for n, body in objects.items() if re.search(rb"/Type\s*/Page\b(?!s)", body)]
    if not pages:
        raise ValueError("no pages found: not a PDF this reader understands")
    return "\n".join(_page_text(objects, objects[n]) for n in sorted(pages))


def _stream(body: bytes) -> bytes:
    match = _STREAM.search(body)
    if match is None:
        raise ValueError("object has no stream")
    raw = match.group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in body[: match.start()] else raw


def _resolve(objects: dict[int, bytes], body: bytes, key: bytes) -> bytes:
    """The value of ``/key``: an inline dictionary (nested ones included), or the object it
    refers to."""
    found = re.search(rb"/" + key + rb"\s*(<<|" + _REF + rb")", body)
    if found is None:
        raise ValueError(f"no /{key.decode()} here")
    if found.group(2):
        return objects[int(found.group(2))]
    depth, at = 0, found.start(1)
    while at < len(body):
        if body.startswith(b"<<", at):
            depth, at = depth + 1, at + 2
        elif body.startswith(b">>", at):
            depth, at = depth - 1, at + 2
            if depth == 0:
                return body[found.end(1) : at - 2]
        else:
            at += 1
    raise ValueError(f"/{key.decode()} never closes")


def _page_text(objects: dict[int, bytes], page: bytes) -> str:
    resources = _resolve(objects, page, b"Resources")
    fonts = {
        name.decode(): _cmap(objects, objects[int(ref)])
        for name, ref in re.findall(rb"/(\w+)\s+" + _REF, _resolve(objects, resources, b"Font"))
    }
    contents = re.search(rb"/Contents\s*(\[[^\]]*\]|" + _REF + rb")", page)
    if contents is None:
        return ""
    refs = [int(r) for r in re.findall(_REF, contents.group(1))]
    return " ".join(_draw(_stream(objects[r]).decode("latin-1"), fonts) for r in refs)


def _cmap(objects: dict[int, bytes], font: bytes) -> dict[int, str]:
    """A font's ToUnicode map: glyph code -> text."""
    ref = re.search(rb"/ToUnicode\s*" + _REF, font)
    if ref is None:
        raise ValueError("a font without a ToUnicode map")
    text = _stream(objects[int(ref.group(1))]).decode("latin-1")
    table: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for code, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(code, 16)] = bytes.fromhex(uni).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, start in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            first = int(start, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                table[code] = chr(first + offset)
    return table


def _draw(content: str, fonts: dict[str, dict[int, str]]) -> str:
    """The text of one content stream: each ``<hex> Tj`` through the font set by ``Tf``; the
    glyphs of one text object (``BT`` ... ``ET``) run together (spaces are glyphs of their own),
    text objects are separated by a space."""
    blocks: list[str] = []
    font: dict[int, str] = {}
    for block in re.findall(r"\bBT\b(.*?)\bET\b", content, re.S):
        text = []
        for name, hexes in re.findall(r"/(\w+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>\s*Tj", block):
            if name:
                font = fonts[name]
                continue
            codes = [int(hexes[i : i + 4], 16) for i in range(0, len(hexes), 4)]
            text.append("".join(font.get(c, "\ufffd") for c in codes))
        blocks.append("".join(text))
    return " ".join(blocks)
