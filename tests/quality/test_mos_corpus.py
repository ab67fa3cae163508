"""The supervised estimator's training data: random degradation draws and the corpus
format (records + audio), without PESQ (a benchmark extra) where it is not the point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emotrack.errors import ParameterError
from emotrack.ml.quality import mos_corpus

from .conftest import harmonic_speech


def draws(count: int) -> list[list[str]]:
    clean, others = harmonic_speech(2.0), [harmonic_speech(2.0, seed) for seed in (1, 2)]
    return [mos_corpus.degrade_item(clean, others, np.random.default_rng([0, i]))[1] for i in range(count)]


def test_an_item_is_reproducible_from_its_seed():
    clean, others = harmonic_speech(2.0), [harmonic_speech(2.0, 1)]
    first = mos_corpus.degrade_item(clean, others, np.random.default_rng([3, 7]))
    second = mos_corpus.degrade_item(clean, others, np.random.default_rng([3, 7]))
    assert first[1] == second[1]
    np.testing.assert_array_equal(first[0], second[0])


def test_draws_cover_every_kind_chain_in_signal_order_and_land_at_a_random_level():
    descriptions = draws(120)
    counts = {len(steps) for steps in descriptions}
    assert counts == {0, 1, 2}
    joined = " | ".join(" ; ".join(steps) for steps in descriptions)
    for word in ("noise", "reverb", "band", "clipping", "kbit/s", "dropouts"):
        assert word in joined
    order = ("reverb", "noise", "band", "clipping", "kbit/s", "dropouts")
    for steps in descriptions:
        positions = [next(i for i, word in enumerate(order) if word in step) for step in steps]
        assert positions == sorted(positions)
    clean = harmonic_speech(2.0)
    audio, _ = mos_corpus.degrade_item(clean, [clean], np.random.default_rng(5))
    peak_db = 20 * np.log10(np.max(np.abs(audio)))
    assert mos_corpus.GAIN_RANGE_DB[0] - 0.01 <= peak_db <= mos_corpus.GAIN_RANGE_DB[1] + 0.01


def test_the_benchmark_mp3_setting_is_never_drawn():
    assert 8000 not in mos_corpus.CODEC_BITRATES["mp3"]


def test_build_corpus_scores_resumes_and_reads_back(tmp_path):
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    utterances = {"train": [("a", harmonic_speech(3.5, 1)), ("b", harmonic_speech(3.5, 2))],
                  "validation": [("c", harmonic_speech(3.5, 3))]}
    count = mos_corpus.build_corpus(tmp_path, utterances, per_utterance=2, log=lambda _: None)
    assert count == 6
    records = (tmp_path / mos_corpus.RECORDS_FILE).read_text().splitlines()
    assert mos_corpus.build_corpus(tmp_path, utterances, per_utterance=2, log=lambda _: None) == 6
    assert (tmp_path / mos_corpus.RECORDS_FILE).read_text().splitlines() == records  # nothing redone
    items = mos_corpus.read_corpus(tmp_path)
    assert {item.split for item in items} <= {"train", "validation"}
    for item in items:
        assert 1.0 <= item.pesq <= 4.65 and 0.0 <= item.stoi <= 1.0
        assert item.audio().dtype == np.float32 and item.audio().size >= 3 * 16000
    assert all(json.loads(line)["source"] in "abc" for line in records)


def test_worker_processes_build_the_same_items(tmp_path):
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    utterances = {"train": [("a", harmonic_speech(3.5, 1)), ("b", harmonic_speech(3.5, 2))]}
    mos_corpus.build_corpus(tmp_path / "one", utterances, per_utterance=2, log=lambda _: None)
    mos_corpus.build_corpus(tmp_path / "two", utterances, per_utterance=2, log=lambda _: None, workers=2)
    one, two = mos_corpus.read_corpus(tmp_path / "one"), mos_corpus.read_corpus(tmp_path / "two")
    assert [(i.index, i.pesq, i.stoi, i.steps) for i in one] == [(i.index, i.pesq, i.stoi, i.steps) for i in two]
    assert all(np.array_equal(a.audio(), b.audio()) for a, b in zip(one, two))


def test_widen_validation_moves_whole_speakers():
    train = [Path(f"{speaker}-1-{n}.flac") for speaker in range(100, 140) for n in range(2)]
    validation = [Path("99-1-0.flac")]
    new_train, new_validation = mos_corpus.widen_validation(train, validation, every=10)
    assert len(new_train) + len(new_validation) == len(train) + len(validation)
    assert len(new_validation) == 1 + 4 * 2
    train_speakers = {p.name.split("-")[0] for p in new_train}
    assert not train_speakers & {p.name.split("-")[0] for p in new_validation}


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="per_utterance"):
        mos_corpus.build_corpus(tmp_path, {"train": []}, per_utterance=0)
    with pytest.raises(ParameterError, match="not a quality corpus"):
        mos_corpus.read_corpus(tmp_path / "missing")
