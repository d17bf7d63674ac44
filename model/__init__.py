"""The rare-earth world: scenario schema, Mesa model, markets, ledger and outputs.

Compiled kernels (``model.compiled.kernel``: numba with ``cache=True``) are
cached on disk in a folder named by a hash of every source file of
``model/`` and ``agents/`` that compiles kernels, plus ``agents/firms.py``
(the stage codes kernels read) and ``model/compiled.py`` (the options). Numba's
own cache notices when a function's file changes, not when a callee in
another module does; keying the folder by all kernel sources keeps
cross-module kernels fresh (the first run after a change to a kernel file
compiles for about two minutes). ``NUMBA_CACHE_DIR``, when set, wins.
"""

import hashlib
import os
import shutil
from pathlib import Path

import numba


def _use_source_keyed_numba_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    root = Path(__file__).resolve().parents[1]
    paths = [p for pkg in ("model", "agents") for p in sorted((root / pkg).rglob("*.py"))]
    kernels = [p.read_bytes() for p in paths if p.name in ("firms.py", "compiled.py") or b"@kernel" in p.read_bytes()]
    digest = hashlib.sha1(b"".join(kernels)).hexdigest()[:16]
    cache = root / "model" / "__pycache__" / "numba"
    for old in cache.glob("*"):
        if old.name != digest:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(cache / digest)


_use_source_keyed_numba_cache()
