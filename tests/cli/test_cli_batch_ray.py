"""``emotrack batch --ray`` on a local Ray instance that the test starts (2 CPUs): the
same projects as ``analyze``, written by actors in other processes, and a rerun that
skips them. Skipped only when Ray (the optional extra ``emotrack[ray]``) is missing."""

from __future__ import annotations

import json
import os

import pytest

from test_cli_batch import NAMES, assert_same_as_analyze, counts, make_lines, read_summary, run_cli

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")


def test_no_cluster_at_the_address_is_a_one_line_error(tmp_path, capsys):
    """(Runs before the fixture below starts a local instance.)"""
    assert not ray.is_initialized()
    inputs = make_lines(tmp_path / "in")
    code, err = run_cli(capsys, "batch", inputs, "-o", tmp_path / "out", "--ray", "auto")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot connect to the Ray cluster at auto" in err and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})
    yield ray
    ray.shutdown()


def test_ray_actors_write_what_analyze_writes(local_ray, tmp_path, tiny_emotion_model_dir, capsys):
    inputs, out = make_lines(tmp_path / "in"), tmp_path / "out"
    (inputs / "bob" / "broken.wav").write_bytes(b"not audio at all")
    args = ["batch", inputs, "-o", out, "--ray", "auto", "--export", "csv",
            "--model", tiny_emotion_model_dir, "--device", "cpu"]
    code, err = run_cli(capsys, *args)
    assert code == 1 and counts(err) == "3 analysed, 0 unchanged, 1 failed"
    for rel, name in NAMES.items():
        assert_same_as_analyze(out / f"{name}.emotrack", inputs / rel, tiny_emotion_model_dir, tmp_path)
    records = [json.loads(line) for line in (out / "summary.jsonl").read_text().splitlines()]
    assert os.getpid() not in {r.get("worker") for r in records}  # actors did the work
    assert read_summary(out)["broken"]["status"] == "failed"

    code, err = run_cli(capsys, *args)
    assert counts(err) == "0 analysed, 3 unchanged, 1 failed"
