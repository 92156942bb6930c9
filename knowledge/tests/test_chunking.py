"""Cutting text into chunks: whole paragraphs while they fit, then sentences, then words; with overlap."""
import pytest

from knowledge.chunking import split_into_chunks


def test_short_text_is_one_chunk():
    assert split_into_chunks("We open at nine.\n\nWe close at six.") == ["We open at nine.\n\nWe close at six."]


def test_paragraphs_are_kept_whole_when_they_fit():
    paragraphs = [f"Paragraph {n}. " + "It says something useful. " * 8 for n in range(6)]
    chunks = split_into_chunks("\n\n".join(paragraphs), max_chars=500, overlap_chars=0)
    assert all(len(chunk) <= 500 for chunk in chunks)
    for chunk in chunks:
        for part in chunk.split("\n\n"):
            assert part.strip() in [paragraph.strip() for paragraph in paragraphs]


def test_a_sentence_longer_than_a_chunk_is_cut_between_words():
    sentence = " ".join(f"word{n}" for n in range(400))
    chunks = split_into_chunks(sentence, max_chars=200, overlap_chars=0)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert " ".join(chunks).split() == sentence.split()


def test_list_lines_keep_their_line_breaks():
    text = "question: When do you open?\nanswer: At nine\n\nquestion: Parking?\nanswer: Behind"
    assert split_into_chunks(text) == [text]


def test_following_chunk_repeats_the_last_sentences_of_the_one_before():
    text = " ".join(f"Sentence {n} carries one fact." for n in range(30))
    chunks = split_into_chunks(text, max_chars=200, overlap_chars=60)
    assert len(chunks) > 3
    for previous, following in zip(chunks, chunks[1:]):
        assert following.split(". ")[0] + "." in previous


@pytest.mark.parametrize("max_chars", [10, 49])
def test_a_chunk_size_too_small_is_refused(max_chars):
    with pytest.raises(ValueError):
        split_into_chunks("text", max_chars=max_chars)


def test_a_heading_starts_its_own_chunk_and_heads_every_chunk_of_its_section():
    text = ("# Opening hours\n\nWe open at nine. We close at six.\n\n## Parking\n\n"
            + " ".join(f"Parking fact {n} is here." for n in range(20)))
    chunks = split_into_chunks(text, max_chars=200, overlap_chars=40)

    assert chunks[0] == "Opening hours\nWe open at nine. We close at six."
    assert len(chunks) > 2
    assert all(chunk.startswith("Parking\nParking fact") for chunk in chunks[1:])
    assert all(len(chunk) <= 200 for chunk in chunks)


def test_a_short_line_alone_is_a_heading_but_a_sentence_is_not():
    chunks = split_into_chunks("Vaccinations\n\nWe give flu shots.\n\nWe open at nine.\n\nWe close at six.")
    assert chunks == ["Vaccinations\nWe give flu shots.\n\nWe open at nine.\n\nWe close at six."]
