"""Work around a PySide6 6.12 / Python 3.11 reference-count bug.

Measured here: every call of a Python override of a C++ ``void`` virtual (``paint``,
``paintEvent``, ``redo`` ...) drops one reference from the object it returns — ``None``
— so after some thousands of repaints the interpreter aborts with "Fatal Python error:
none_dealloc" (or "bool_dealloc" for overrides that return a bool by mistake). Python
3.12+ makes these singletons immortal, which hides the bug; on 3.11 we give them a
reference count no session can drain. Remove once PySide6 is pinned to a fixed release.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40


def install() -> None:
    if sys.version_info >= (3, 12) or getattr(install, "done", False):
        return
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object header.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    install.done = True
