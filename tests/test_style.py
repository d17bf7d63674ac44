"""The style gate of pyproject.toml ([tool.ruff]) holds over the whole tree."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "agents", "model", "viz", "experiments", "tests", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_model_never_imports_viz_or_experiments():
    """Dependencies point inward (DESIGN.md): model and agents know nothing of the app or sweeps."""
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("model", "agents")
        for path in (ROOT / package).rglob("*.py")
        if any(
            line.lstrip().startswith(("import viz", "from viz", "import experiments", "from experiments"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []
