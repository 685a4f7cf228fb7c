"""The layering rules of DESIGN.md section 2, checked on the source."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _sources(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in (ROOT / pkg).rglob("*.py")]


def test_library_never_imports_streamlit_or_the_app():
    offenders = [str(p.relative_to(ROOT)) for p in _sources("interp", "sae") if {"streamlit", "app"} & _imports(p)]
    assert not offenders, offenders


def test_app_holds_no_analysis_code():
    # pages are widgets -> one library call -> library figures: no tensors, no figures of their own
    offenders = [str(p.relative_to(ROOT)) for p in _sources("app") if {"torch", "plotly", "transformer_lens", "sae_lens"} & _imports(p)]
    assert not offenders, offenders


def test_only_plots_modules_import_plotly():
    offenders = [str(p.relative_to(ROOT)) for p in _sources("interp", "sae") if "plotly" in _imports(p) and p.name != "plots.py"]
    assert not offenders, offenders


def test_library_does_not_print():
    offenders = []
    for p in _sources("interp", "sae"):
        if p.name.startswith("cli"):
            continue  # the command line is a front end: printing is its job
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_modules_stay_small():
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in _sources("interp", "sae", "app") if (n := len(p.read_text().splitlines())) > 400]
    assert not big, big
