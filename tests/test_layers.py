"""The layer rules of docs/architecture.md, read from the source with ast (every import, the ones
inside functions too): no module imports a later layer, no two modules import each other (directly
or round a loop), and no module imports another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import facegraft

SRC = Path(facegraft.__file__).resolve().parent.parent

# The layers in the order data flows; a module may import its own layer and earlier ones.
LAYERS = (
    ("foundation", ("facegraft.errors", "facegraft.config", "facegraft.blas", "facegraft.samples", "facegraft.models",
                    "facegraft.pipeline")),
    ("io", ("facegraft.io",)),
    ("analysis", ("facegraft.analysis",)),
    ("select", ("facegraft.select",)),
    ("generate", ("facegraft.generate",)),
    ("refine", ("facegraft.refine",)),
    ("provenance", ("facegraft.provenance",)),
    ("entry points", ("facegraft.swapper", "facegraft.api", "facegraft.capture", "facegraft.reenact",
                      "facegraft.live", "facegraft.evaluate")),
    ("shells", ("facegraft.cli", "facegraft.ui", "facegraft_bench", "facegraft")),
)


def layer_of(module: str) -> int:
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return rank


def modules() -> dict[str, Path]:
    found = {}
    for root in ("facegraft", "facegraft_bench"):
        for path in sorted((SRC / root).rglob("*.py")):
            parts = list(path.relative_to(SRC).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every facegraft import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                # `from facegraft import samples` imports the module facegraft.samples, not the package.
                sub = f"{base}.{alias.name}"
                found.append((sub, [], node.lineno) if sub in known else (base, [alias.name], node.lineno))
    return [(m, names, line) for m, names, line in found if m.split(".")[0] in ("facegraft", "facegraft_bench")]


def graph() -> dict[str, list[tuple[str, list[str], int]]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


def test_no_module_imports_a_later_layer():
    upward = [f"{name}:{line} imports {target} ({LAYERS[layer_of(target)][0]} > {LAYERS[layer_of(name)][0]})"
              for name, edges in graph().items() for target, _, line in edges if layer_of(target) > layer_of(name)]
    assert upward == []


def test_no_private_names_cross_modules():
    private = [f"{name}:{line} takes {n} from {target}" for name, edges in graph().items()
               for target, names, line in edges if target != name for n in names if n.startswith("_")]
    assert private == []


def test_no_import_cycles():
    edges = {name: sorted({t for t, _, _ in targets if t != name}) for name, targets in graph().items()}
    # A package's __init__ gathering its own submodules is how a package shows its surface;
    # a submodule importing its package back is the cycle to catch, so only the downward edge is dropped.
    edges = {name: [t for t in targets if not t.startswith(name + ".")] for name, targets in edges.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]) if nxt in trail else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_rules_see_a_violation(tmp_path):
    # The reader must resolve relative and package imports, or the tests above would pass on anything.
    pkg = tmp_path / "facegraft" / "io"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text("from ..generate import mesh\nfrom facegraft.analysis.texture import _private\n")
    known = {"facegraft.io": pkg / "__init__.py", "facegraft.io.bad": pkg / "bad.py", "facegraft.generate.mesh": pkg}
    found = imports_of("facegraft.io.bad", pkg / "bad.py", known)
    assert ("facegraft.generate.mesh", [], 1) in found
    assert ("facegraft.analysis.texture", ["_private"], 2) in found
    assert layer_of("facegraft.generate.mesh") > layer_of("facegraft.io.bad")


def test_every_declared_model_is_installed_and_documented():
    from facegraft.models import MODELS, model_file
    doc = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for spec in MODELS:
        assert model_file(spec).stat().st_size > 10_000, spec.name
        assert f"`{spec.name}`" in doc, f"{spec.name} is missing from docs/architecture.md's model table"


def test_one_models_object_loads_the_identity_network_once():
    from facegraft.models import Models
    models = Models()
    assert models.identity_network() is models.identity_network()
    assert Models().identity_network() is not models.identity_network()
