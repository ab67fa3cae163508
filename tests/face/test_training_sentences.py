"""The generated training sentences: varied, rich in /p b m/, and disjoint from the held-out test."""

from __future__ import annotations

from emotrack.ml.face.alignment import transcript_words
from emotrack.ml.face.synthetic_speech import SENTENCES
from emotrack.ml.face.training import TEST_SENTENCES, TRAIN_SENTENCES, is_validation_sentence, held_out_content_words
from emotrack.ml.face.training_sentences import generated_sentences

BILABIAL_LETTERS = ("p", "b", "m")


def test_held_out_sentences_are_unchanged():
    # The shipped figures (75 % on these) and every later comparison depend on this list.
    assert TEST_SENTENCES == SENTENCES[::4]
    assert TEST_SENTENCES[0] == "Bob made a map of the moon"
    assert len(TEST_SENTENCES) == 10 and not set(TEST_SENTENCES) & set(TRAIN_SENTENCES)


def test_generated_sentences_hold_no_test_sentence_or_test_content_word():
    sentences = generated_sentences(600, seed=0, exclude=held_out_content_words())
    assert len(sentences) == 600 == len(set(sentences))
    assert not set(sentences) & set(TEST_SENTENCES)
    heard = {w for s in sentences for w in transcript_words(s)}
    assert not heard & held_out_content_words()
    assert {"bob", "moon", "puppy", "bread", "measure"} <= held_out_content_words()


def test_generated_sentences_are_rich_in_bilabials_and_vary():
    sentences = generated_sentences(300, seed=1, exclude=held_out_content_words())
    with_bilabial = [s for s in sentences if any(w.startswith(BILABIAL_LETTERS) or w.endswith(BILABIAL_LETTERS)
                                                  for w in transcript_words(s))]
    assert len(with_bilabial) > 0.9 * len(sentences)
    assert len({w for s in sentences for w in transcript_words(s)}) > 300
    assert generated_sentences(50, seed=1, exclude=held_out_content_words()) == sentences[:50]  # reproducible


def test_validation_sentences_are_about_a_tenth_and_fixed_by_text():
    sentences = generated_sentences(1000, seed=2, exclude=held_out_content_words())
    share = sum(map(is_validation_sentence, sentences)) / len(sentences)
    assert 0.05 < share < 0.15
    assert is_validation_sentence(sentences[0]) == is_validation_sentence(str(sentences[0]))
