"""Structuring: turning a consultation transcript into the ordered sections of a note template."""
from .templates import SectionDraft


class StructuringError(Exception):
    """The transcript could not be structured; the message is kept as the note's failure reason."""


class Structurer:
    name = ""

    def structure(self, transcript: str, template: str, language: str) -> list[SectionDraft]:
        """Every section of `template` in order, with content drawn from `transcript`."""
        raise NotImplementedError
