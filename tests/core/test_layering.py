import subprocess
import sys


def test_core_and_pipeline_import_without_qt_or_torch():
    code = (
        "import sys, pkgutil, importlib, emotrack.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__): importlib.import_module('emotrack.core.' + m.name)\n"
        "import emotrack.pipeline, emotrack.io.audio\n"
        "bad = [m for m in ('torch', 'PySide6', 'pyqtgraph', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
