import pytest

from emotrack.errors import ParameterError
from emotrack.ml.face.ravdess import parse_ravdess_name


def test_ravdess_names():
    name = parse_ravdess_name("Actor_12/03-01-05-02-01-01-12.flac")
    assert (name.emotion, name.strong, name.statement, name.actor) == ("anger", True, "Kids are talking by the door", 12)
    assert parse_ravdess_name("03-01-02-01-02-02-01.flac").statement == "Dogs are sitting by the door"
    with pytest.raises(ParameterError):
        parse_ravdess_name("speech.flac")
