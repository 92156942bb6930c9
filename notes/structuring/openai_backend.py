"""Structuring with an OpenAI chat model, constrained by a JSON schema (structured output)."""
import json

from django.conf import settings

from notes.stt.openai_backend import openai_client

from .base import Structurer, StructuringError
from .templates import drafts, labels

LANGUAGE_NAMES = {"en": "English", "pt": "Portuguese", "fr": "French"}


def response_schema(template: str) -> dict:
    """The JSON schema the model must answer with: one string per section label of the template."""
    section_labels = labels(template)
    return {
        "type": "object",
        "properties": {label: {"type": "string"} for label in section_labels},
        "required": section_labels,
        "additionalProperties": False,
    }


def instructions(template: str, language: str) -> str:
    patient = "an animal patient (the history is usually told by its owner)" if template == "veterinary" \
        else "a patient"
    return (
        f"You write clinical notes. The user message is the transcript of a consultation with {patient}. "
        f"Split what was said into the sections {', '.join(labels(template))}: anamnesis is the history and "
        "complaints, physical_exam the findings of the examination, assessment the diagnosis or impression, "
        "plan the treatment, prescriptions and follow-up. Use only facts from the transcript, write in "
        f"{LANGUAGE_NAMES.get(language, language)}, and leave a section empty when nothing was said about it."
    )


class OpenAIStructurer(Structurer):
    name = "openai"

    def structure(self, transcript, template, language):
        import openai

        try:
            completion = openai_client().chat.completions.create(
                model=settings.OPENAI_CHAT_MODEL,
                temperature=0,
                messages=[
                    {"role": "system", "content": instructions(template, language)},
                    {"role": "user", "content": transcript},
                ],
                response_format={"type": "json_schema", "json_schema": {
                    "name": "consultation_note", "strict": True, "schema": response_schema(template)}},
            )
        except openai.OpenAIError as exc:
            raise StructuringError(f"OpenAI structuring failed: {exc}") from exc
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise StructuringError(f"The model refused to structure the note: {message.refusal}")
        try:
            contents = json.loads(message.content or "")
        except ValueError as exc:
            raise StructuringError("The model did not answer with JSON.") from exc
        if not isinstance(contents, dict) or not all(isinstance(contents.get(label, ""), str)
                                                      for label in labels(template)):
            raise StructuringError("The model's answer does not follow the note schema.")
        return drafts(template, language, contents)
