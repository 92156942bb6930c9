"""A note as a document: RTF that word processors open (accents as `\\uN?` escapes) or plain UTF-8 text."""
import datetime

LABELS = {
    "en": {"title": "Consultation note", "patient": "Patient", "gender": "Gender", "external_id": "External ID",
           "date": "Date", "transcript": "Transcript"},
    "pt": {"title": "Nota de consulta", "patient": "Paciente", "gender": "Sexo", "external_id": "ID externo",
           "date": "Data", "transcript": "Transcrição"},
    "fr": {"title": "Note de consultation", "patient": "Patient", "gender": "Sexe",
           "external_id": "Identifiant externe", "date": "Date", "transcript": "Transcription"},
}


def _labels(note):
    return LABELS.get(note.language, LABELS["en"])


def _header_lines(note) -> list[tuple[str, str]]:
    labels = _labels(note)
    created = note.created_at.astimezone(datetime.timezone.utc)
    lines = [(labels["patient"], note.name), (labels["gender"], note.gender),
             (labels["external_id"], note.external_id), (labels["date"], created.strftime("%Y-%m-%d %H:%M UTC"))]
    lines += [(item["key"], item["value"]) for item in note.metadata or []]
    return [(key, value) for key, value in lines if value]


def _sections(note):
    return [section for section in note.sections.all() if section.content or section.edited_at]


def as_text(note) -> str:
    """The note as plain text: header lines, then each section, then the transcript."""
    labels = _labels(note)
    parts = [labels["title"], ""]
    parts += [f"{key}: {value}" for key, value in _header_lines(note)]
    for section in _sections(note):
        parts += ["", section.title, section.content]
    if note.transcript:
        parts += ["", labels["transcript"], note.transcript]
    return "\n".join(parts).rstrip() + "\n"


def rtf_escape(text: str) -> str:
    """RTF-escape text: control characters escaped, line breaks as \\line, non-ASCII as \\uN? (UTF-16 units,
    signed as RTF requires) so any reader keeps the accents whatever its code page."""
    out = []
    for char in text:
        code = ord(char)
        if char in "\\{}":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\line ")
        elif char == "\t":
            out.append("\\tab ")
        elif char == "\r":
            continue
        elif 32 <= code < 128:
            out.append(char)
        elif code < 32:
            continue
        else:
            encoded = char.encode("utf-16-le")
            for index in range(0, len(encoded), 2):
                unit = int.from_bytes(encoded[index:index + 2], "little")
                out.append(f"\\u{unit - 65536 if unit > 32767 else unit}?")
    return "".join(out)


def as_rtf(note) -> str:
    """The same content as `as_text`, as an RTF 1 document (ANSI code page 1252, Unicode escapes)."""
    labels = _labels(note)
    body = [r"{\rtf1\ansi\ansicpg1252\deff0\uc1",
            r"{\fonttbl{\f0\fswiss\fcharset0 Helvetica;}}",
            r"{\info{\title " + rtf_escape(labels["title"]) + "}}",
            r"\f0\fs22",
            r"{\pard\sa200\b\fs32 " + rtf_escape(labels["title"]) + r"\par}"]
    for key, value in _header_lines(note):
        body.append(r"{\pard{\b " + rtf_escape(key) + r":} " + rtf_escape(value) + r"\par}")
    for section in _sections(note):
        body.append(r"{\pard\sb240\sa120\b\fs26 " + rtf_escape(section.title) + r"\par}")
        body.append(r"{\pard\sa120 " + rtf_escape(section.content) + r"\par}")
    if note.transcript:
        body.append(r"{\pard\sb240\sa120\b\fs26 " + rtf_escape(labels["transcript"]) + r"\par}")
        body.append(r"{\pard\sa120\i " + rtf_escape(note.transcript) + r"\par}")
    body.append("}")
    return "\n".join(body) + "\n"
