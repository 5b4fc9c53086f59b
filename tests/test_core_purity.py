"""The core never imports Streamlit: it must run in the CLI, in tests and in CI jobs alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "src" / "podium"
MODULES = sorted(p for p in CORE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_module_does_not_import_streamlit(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        assert not any(n == "streamlit" or n.startswith("streamlit.") for n in names), f"{path} imports streamlit"


def test_importing_every_core_module_leaves_streamlit_unloaded():
    modules = [
        "podium." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in MODULES
        if p.name not in ("__main__.py",)
    ]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_unsafe_html_in_pages():
    root = CORE.parents[1]
    for path in [root / "app.py", *sorted((root / "app_pages").glob("*.py"))]:
        assert "unsafe_allow_html=True" not in path.read_text(encoding="utf-8").replace(" ", ""), path
