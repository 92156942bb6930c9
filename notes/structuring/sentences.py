"""Sentences of a spoken transcript: split at full stops, except after abbreviations ("Dr.", "Sra.", "e.g.") and
units followed by a lower-case word ("500 mg. twice daily"); text is compared lower case without accents."""
import re
import unicodedata

# Titles and Latin abbreviations never end a sentence; units do only when a capital letter follows.
TITLES = {"mr", "mrs", "ms", "dr", "dra", "drs", "sr", "sra", "srs", "prof", "profa", "mme", "mlle", "vs", "approx"}
LATIN = {"e.g", "i.e", "cf", "p.ex", "ex", "viz", "a.c", "p.c", "b.i.d", "t.i.d", "q.i.d", "p.o", "i.v", "i.m",
         "s.c"}
UNITS = {"mg", "mcg", "ml", "kg", "g", "cm", "mm", "l", "min", "h", "hrs", "bpm", "mmhg", "comp", "cp", "caps",
         "tab", "tabs", "amp", "gts"}
_BOUNDARY = re.compile(r"[.!?;]+[\"')\]]*\s+|\n+")
_LAST_WORD = re.compile(r"([\w.]+)\.$")


def fold(text: str) -> str:
    """Lower case without accents, one character per character of `text` (positions stay comparable)."""
    folded = []
    for char in text:
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(part for part in decomposed if not unicodedata.combining(part)) or char
        folded.append(base[0].lower() if len(base[0].lower()) == 1 else char)
    return "".join(folded)


def _keeps_going(before: str, after: str) -> bool:
    """Whether the full stop that ends `before` is an abbreviation's, so the sentence goes on into `after`."""
    match = _LAST_WORD.search(fold(before))
    if match is None:
        return False
    word = match.group(1).strip(".")
    if word in TITLES or word in LATIN or re.fullmatch(r"[a-z]", word):
        return True
    if word in UNITS:
        return not after[:1].isupper()
    return False


def sentences(transcript: str) -> list[str]:
    """The transcript's sentences, in order, stripped; empty ones dropped."""
    text = transcript or ""
    pieces, start = [], 0
    for boundary in _BOUNDARY.finditer(text):
        before, after = text[start:boundary.start() + 1], text[boundary.end():]
        if boundary.group()[0] == "." and "\n" not in boundary.group() and _keeps_going(before, after):
            continue
        pieces.append(text[start:boundary.end()])
        start = boundary.end()
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces if piece.strip()]
