import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_check_is_clean():
    result = subprocess.run(
        ["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_imports_another_modules_private_helper():
    # Shared mechanisms live in sknoisy.utils (and the other shared modules);
    # a private helper imported from another method's file ties two methods
    # together behind the reader's back.  The same holds for the public
    # modules (noise, metrics, model_selection, ...): what two of them share
    # is a sknoisy.utils helper, not one's private function.
    import ast

    package = ROOT / "sknoisy"
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    offenders = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            source = node.module.split(".")
            if node.level == 0 and source[0] == "sknoisy":
                source = source[1:]
            elif node.level == 0 or (node.level == 1 and path.parent != package):
                continue
            if not source or source[0] not in modules or source[0] == path.stem:
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            if private:
                where = path.relative_to(ROOT)
                offenders.append(f"{where}:{node.lineno} {source[0]} {private}")
    assert not offenders, "\n".join(offenders)
