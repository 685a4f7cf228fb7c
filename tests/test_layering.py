"""The layering rules of docs/ARCHITECTURE.md, checked on the source: layers import only downwards, the
import graph has no cycle (imports inside functions included), modules say what they export (`__all__`)
and import only what other modules export, and the front ends and plots stay thin."""

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("interp", "sae", "app")

# The layers are folders: a module's layer is that of the deepest folder listed here that holds it. A folder of
# interp that is not listed fails test_every_module_has_a_layer, so a new analysis folder must say where it stands.
LAYERS = {
    "interp/vocab": 0,  # the vocabulary: option types, model/SAE types, shape names
    "interp/results": 1,  # typed results: data only
    "interp/core": 2,  # the lower layer: tokens, sites, hooks, task, metrics, interventions, baselines
    "interp/loading": 3,  # data and loading: specs, models, SAE folders, GGUF, the checks before loading
    "interp/zoo": 3,  # the zoo's models and SAEs (package data), corpus and word lists
    "interp/tasks": 4,  # analyses, grouped by what they are
    "interp/observe": 4,
    "interp/patching": 4,
    "interp/circuits": 4,
    "interp/edges": 4,
    "interp/graphs": 4,
    "interp/probing": 4,
    "interp/trojans": 4,
    "interp/training": 4,
    "interp/generation": 4,
    "interp/steering": 4,
    "interp/editing": 4,
    "interp/weights": 4,
    "interp/compare": 4,
    "sae": 4,  # SAE jobs and studies, built on interp
    "interp/plots": 5,  # figures from results
    "sae/plots": 5,
    "interp/cli": 6,  # front ends
    "sae/cli": 6,
    "app": 6,
}
ROOT_MODULES = {"interp": 3}  # interp/__init__.py lazily re-exports load_model; nothing else sits at interp's root
LAYER_NAMES = ("vocabulary", "results", "core", "data and loading", "analyses", "plots", "front ends")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(_modules()[name].read_text())


def _imports(name: str) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import of a project module, at any depth of the file."""
    found = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            assert node.level == 0, f"{name}: use absolute imports"
            found += [(node.module, a.name) for a in node.names]
    return found


def _targets(name: str) -> set[str]:
    """The project modules `name` imports (a `from package import submodule` counts as the submodule)."""
    mods, out = _modules(), set()
    for module, item in _imports(name):
        out.add(f"{module}.{item}" if item and f"{module}.{item}" in mods else module)
    return (out & set(mods)) - {name}


def _folder(name: str) -> str:
    """The folder that holds module `name` (a package's own folder for its __init__)."""
    path = _modules()[name].relative_to(ROOT)
    return str(path.parent)


def _placing(folder: str) -> str | None:
    """The deepest folder of LAYERS that holds `folder` (None: no layer)."""
    return max((f for f in LAYERS if folder == f or folder.startswith(f + "/")), key=len, default=None)


def _layer(name: str) -> int:
    if name in ROOT_MODULES:
        return ROOT_MODULES[name]
    placing = _placing(_folder(name))
    assert placing, f"{name} is in {_folder(name)}/, which tests/test_layering.py's LAYERS does not place in a layer"
    return LAYERS[placing]


def _exports(name: str) -> set[str] | None:
    for node in _tree(name).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return {elt.value for elt in node.value.elts}
    return None


def _library() -> list[str]:
    return sorted(m for m in _modules() if not m.startswith("app.") or m == "app.common")


def test_every_module_has_a_layer():
    unplaced = [f"{m} ({_folder(m)}/)" for m in _modules() if m not in ROOT_MODULES and _placing(_folder(m)) is None]
    assert not unplaced, f"folders with no layer in LAYERS: {unplaced}"


def test_the_package_roots_hold_no_analysis():
    # interp/ is folders only: a module dropped at its root would take the root's layer without saying why
    flat = sorted(p.name for p in (ROOT / "interp").glob("*.py") if p.name != "__init__.py")
    assert not flat, f"modules at interp/'s root, outside any layer's folder: {flat}"


# Module names that stand for one concept at several layers: a subject's analysis, its results, its figures and its
# command share the subject's name (interp/trojans/, interp/results/trojans.py, interp/plots/trojans.py ...).
SUBJECT_FOLDERS = ("interp/results", "interp/plots", "sae/plots", "interp/cli", "sae/cli", "app/views")
SAME_CONCEPT = {
    "trojans": "the zoo's trojan models and configs (data: interp.zoo.trojans) and the hunt for them (interp.trojans)"
}


def test_no_two_modules_share_a_name():
    seen: dict[str, list[str]] = {}
    for m in _modules():
        if _folder(m).startswith(SUBJECT_FOLDERS) or m.split(".")[-1] in {"__main__", "common"}:
            continue
        seen.setdefault(m.split(".")[-1], []).append(m)
    shared = {name: mods for name, mods in seen.items() if len(mods) > 1 and name not in SAME_CONCEPT}
    assert not shared, shared


def test_interp_never_imports_sae():
    # sae is built on interp (jobs, evaluation, features); interp loads and trains SAEs as objects it analyses with
    offenders = [
        f"{m} imports {t}" for m in _modules() if m.startswith("interp") for t in _targets(m) if t.startswith("sae")
    ]
    assert not offenders, offenders


def test_results_are_imported_from_one_place():
    # every result type is re-exported by interp.results, and imported from there
    offenders = [
        f"{m} imports {t}"
        for m in _modules()
        if not m.startswith("interp.results")
        for t in _targets(m)
        if t.startswith("interp.results.")
    ]
    assert not offenders, offenders


def test_layers_import_only_downwards():
    offenders = []
    for name in _modules():
        for target in _targets(name):
            if _layer(target) > _layer(name):
                offenders.append(
                    f"{name} ({LAYER_NAMES[_layer(name)]}) imports {target} ({LAYER_NAMES[_layer(target)]})"
                )
    assert not offenders, offenders


def test_the_import_graph_has_no_cycle():
    graph = {name: _targets(name) for name in _modules()}
    # a module imports its package's __init__ implicitly; an __init__ that imports its own submodules is not a cycle
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def test_folders_import_each_other_one_way_only():
    # two folders of one layer may lean on each other only one way round, so that either can be read first
    # (zoo data and loading were the case: the zoo's fetch used loading's cache while loading read the zoo)
    home = {name: _placing(_folder(name)) or _folder(name) for name in _modules()}  # interp's root: its own
    edges = {(home[name], home[target]) for name in _modules() for target in _targets(name)}
    both = sorted(f"{a} <-> {b}" for a, b in edges if a < b and (b, a) in edges)
    assert not both, both


def _defined(name: str) -> set[str]:
    """Names bound at a module's top level (a module-level __getattr__ counts the names it resolves lazily)."""
    found = set()
    body = list(_tree(name).body)
    for node in body:
        if isinstance(node, ast.If):  # e.g. `if TYPE_CHECKING: ... else: ...`
            body += node.body + node.orelse
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.add(node.name)
            if node.name == "__getattr__":
                found |= {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        elif isinstance(node, ast.Assign):
            found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            found |= {a.asname or a.name for a in node.names}
    return found


def test_modules_declare_their_public_names():
    missing = [m for m in _library() if _exports(m) is None]
    assert not missing, f"no __all__ in {missing}"
    for m in _library():
        undefined = _exports(m) - _defined(m)
        assert not undefined, f"{m}.__all__ names what it does not define: {undefined}"


def test_imports_use_only_public_names():
    mods, offenders = _modules(), []
    for name in _modules():
        for module, item in _imports(name):
            if item is None or f"{module}.{item}" in mods or module not in mods:
                continue
            exported = _exports(module)
            if item.startswith("_") or (exported is not None and item not in exported):
                offenders.append(f"{name} imports {module}.{item}, which {module} does not export")
    assert not offenders, offenders


def _plain_imports(path: Path) -> set[str]:
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
    offenders = [
        str(p.relative_to(ROOT)) for p in _sources("interp", "sae") if {"streamlit", "app"} & _plain_imports(p)
    ]
    assert not offenders, offenders


def test_app_holds_no_analysis_code():
    # pages are widgets -> one library call -> library figures: no tensors, no figures of their own
    heavy = {"torch", "plotly", "transformer_lens", "sae_lens"}
    offenders = [str(p.relative_to(ROOT)) for p in _sources("app") if heavy & _plain_imports(p)]
    assert not offenders, offenders
    # nor tensor work on a result's fields: a result's own methods answer what a page asks of it
    tensor_methods = {"nonzero", "argsort", "topk", "tolist", "abs", "item", "numpy", "detach", "cpu", "softmax"}
    calls = [
        f"{p.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()"
        for p in _sources("app")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in tensor_methods
    ]
    assert not calls, calls


def test_app_names_its_session_state_in_one_place():
    # every st.session_state key is a name from app/state.py, never a string written in a page
    def keyed(node: ast.AST) -> ast.AST | None:
        if isinstance(node, ast.Subscript) and getattr(node.value, "attr", None) == "session_state":
            return node.slice
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "setdefault", "pop")
            and getattr(node.func.value, "attr", None) == "session_state"
            and node.args
        ):
            return node.args[0]
        return None

    offenders = [
        f"{p.relative_to(ROOT)}:{node.lineno}"
        for p in _sources("app")
        if p.name != "state.py"
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(keyed(node), (ast.Constant, ast.JoinedStr))
    ]
    assert not offenders, offenders


def test_only_plots_modules_import_plotly():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources("interp", "sae")
        if "plotly" in _plain_imports(p) and "plots" not in p.relative_to(ROOT).parts
    ]
    assert not offenders, offenders


def test_library_does_not_print():
    offenders = []
    for p in _sources("interp", "sae"):
        if "cli" in p.relative_to(ROOT).parts:
            continue  # the command line is a front end: printing is its job
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_modules_stay_small():
    # the scripts beside the library too: a case study or a benchmark is read as often as a module
    sizes = {p: len(p.read_text().splitlines()) for p in _sources(*PACKAGES, "case_studies", "benchmarks")}
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p, n in sizes.items() if n > 400]
    assert not big, big


def test_code_cites_only_files_in_the_repository():
    # docs/ARCHITECTURE.md is the design document in the repository; the team's design notes live outside it
    outside = "DESIGN" + ".md"
    offenders = [
        str(p.relative_to(ROOT)) for p in _sources(*PACKAGES, "tests", "benchmarks") if outside in p.read_text()
    ]
    assert not offenders, offenders
    assert (ROOT / "docs" / "ARCHITECTURE.md").is_file()
