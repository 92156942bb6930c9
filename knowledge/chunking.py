"""Cutting a document's text into chunks of about `max_chars`, on paragraph and sentence boundaries.

Paragraphs are kept whole while they fit; a longer one is cut between sentences, and a sentence longer than a
chunk between words. Each chunk after the first starts with the last sentences of the one before (up to
`overlap_chars`), so a fact that straddles a cut can still be found.

A document is first cut into sections at its headings (a Markdown `#` line, or a short line alone in its paragraph
with no sentence punctuation, as PDF and DOCX extraction leave them). No chunk spans two sections, and every chunk
of a section starts with the section's heading on its own line: a heading is never glued to the end of the
previous section's chunk, and "Parking" still names the passage that never repeats the word.
"""
import re
from dataclasses import dataclass

_PARAGRAPHS = re.compile(r"\n\s*\n")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
MAX_HEADING_CHARS = 80
# A sentence ends at . ! ? … (optionally followed by a closing quote or bracket) before white space.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


@dataclass
class _Piece:
    text: str
    separator: str  # what joins it to the piece before: a blank line, a line break or a space
    paragraph_chars: int = 0  # on the first piece of a paragraph: the whole paragraph's length


def _sentences(paragraph: str) -> tuple[list[str], str]:
    """The units of a paragraph and what joins them."""
    lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
    # Lines of a list or of `key: value` pairs are their own units; prose wrapped by an editor is joined again.
    if len(lines) > 1 and sum(len(line) for line in lines) / len(lines) < 60:
        return lines, "\n"
    text = re.sub(r"\s+", " ", " ".join(lines))
    return [sentence for sentence in _SENTENCE_END.split(text) if sentence.strip()], " "


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than a chunk, cut between words (a word longer than a chunk, anywhere)."""
    pieces, current = [], ""
    for word in sentence.split(" "):
        while len(word) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _pieces(text: str, max_chars: int) -> list[_Piece]:
    pieces = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        separator = "\n\n"
        units, joiner = _sentences(paragraph)
        start = len(pieces)
        for unit in units:
            parts = _split_long(unit, max_chars) if len(unit) > max_chars else [unit]
            pieces.extend(_Piece(part, separator if index == 0 else " ") for index, part in enumerate(parts))
            separator = joiner
        if len(pieces) > start:
            pieces[start].paragraph_chars = len(_join(pieces[start:]))
    return pieces


def _join(pieces: list[_Piece]) -> str:
    text = ""
    for index, piece in enumerate(pieces):
        if index == 0:
            text = piece.text
        else:
            text += piece.separator + piece.text
    return text


def heading_of(paragraph: str) -> str:
    """The heading `paragraph` is, without its Markdown marks, or "" when it is text."""
    paragraph = paragraph.strip()
    if not paragraph or "\n" in paragraph or len(paragraph) > MAX_HEADING_CHARS:
        return ""
    markdown = _MARKDOWN_HEADING.match(paragraph)
    if markdown:
        return markdown.group("title").strip()
    words = paragraph.split()
    if (len(words) <= 8 and paragraph[0].isupper() and paragraph[-1] not in ".!?…:;,\"'"
            and not any(mark in paragraph for mark in ":;=|")):
        return paragraph
    return ""


def sections(text: str) -> list[tuple[str, str]]:
    """`text` as (heading, body) pairs in order; the part before the first heading has the heading ""."""
    result: list[tuple[str, list[str]]] = [("", [])]
    for paragraph in _PARAGRAPHS.split((text or "").strip()):
        # A Markdown heading directly followed by its text (no blank line) still opens a section.
        first, _newline, rest = paragraph.strip().partition("\n")
        heading = heading_of(paragraph) or (_MARKDOWN_HEADING.match(first) and heading_of(first))
        if heading:
            result.append((heading, [rest] if rest.strip() and not heading_of(paragraph) else []))
        elif paragraph.strip():
            result[-1][1].append(paragraph)
    return [(heading, "\n\n".join(body)) for heading, body in result if heading or body]


def split_into_chunks(text: str, max_chars: int = 800, overlap_chars: int = 150) -> list[str]:
    """The chunks of `text`, in order; none is longer than `max_chars`. Each chunk of a section starts with the
    section's heading line (see `sections`)."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    chunks: list[str] = []
    for heading, body in sections(text):
        if not body.strip():
            # A heading with no text under it (two headings in a row) still says something.
            if heading:
                chunks.append(heading[:max_chars])
            continue
        room = max_chars - len(heading) - 1 if heading else max_chars
        if room < 50:  # a heading too long to repeat: the text goes on its own
            heading, room = "", max_chars
        chunks.extend(f"{heading}\n{chunk}" if heading else chunk
                      for chunk in _split_text(body, room, overlap_chars))
    return chunks


def _split_text(text: str, max_chars: int, overlap_chars: int) -> list[str]:
    overlap_chars = max(0, min(overlap_chars, max_chars // 2))
    chunks: list[str] = []
    current: list[_Piece] = []
    fresh = 0  # pieces of `current` not already in the previous chunk

    def fits(pieces: list[_Piece], piece: _Piece) -> bool:
        if len(_join(pieces + [piece])) > max_chars:
            return False
        # A paragraph that would fit whole in a chunk of its own starts one rather than being cut.
        whole = piece.paragraph_chars
        return not pieces or not whole or whole > max_chars or len(_join(pieces)) + 2 + whole <= max_chars

    for piece in _pieces(text, max_chars):
        if current and not fits(current, piece):
            if fresh:
                chunks.append(_join(current))
            carried: list[_Piece] = []
            for previous in reversed(current):
                if len(_join([previous] + carried)) > overlap_chars:
                    break
                carried.insert(0, previous)
            current = carried if carried and fits(carried, piece) else []
            fresh = 0
        current.append(piece)
        fresh += 1
    if current and fresh:
        chunks.append(_join(current))
    return chunks
