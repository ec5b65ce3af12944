"""The package's rooms (docs/ARCHITECTURE.md), read from the code: imports between rooms run one way, no two
modules import each other (not even lazily), open_clip and ipywidgets each have one home, and modules stay short."""
import ast
from pathlib import Path

import diffusion_course

PACKAGE = Path(diffusion_course.__file__).parent
# Each room may import its own room and the rooms before it, never one after it. The foundation comes first:
# modules that read no model (pixels, the machine, the dust's maths, pools, the shipped files, scenes, configs).
ROOMS = ["images", "precision", "schedules", "pools", "shipped", "scenes", "config",
         "words", "models", "diffusion", "judging", "looking", "sketchbook", "lessons", "exercises", "bench", "cli"]
ON_TOP = {"__init__", "__main__"}  # the package's front door and `python -m`: they may reach every room
LONGEST = 320  # lines: "rarely over ~300" (STYLE.md); a module well past it holds two concepts


def modules() -> dict[str, Path]:
    """Every module as a dotted name under the package ("looking.trace", "scenes" for scenes/__init__.py)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its file (inside functions too), as dotted names."""
    package = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
    known, found = modules(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = base + (node.module.split(".") if node.module else [])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("diffusion_course"):
            target = node.module.split(".")[1:]
        else:
            continue
        for alias in node.names:  # `from . import a` imports module a; `from .a import f` imports module a
            whole = ".".join([*target, alias.name])
            found.add(whole if whole in known else ".".join(target))
    return {m for m in found if m and m != name}


def room(module: str) -> str:
    return module.split(".")[0]


def test_imports_between_rooms_run_one_way():
    assert set(ROOMS) | ON_TOP >= {room(m) for m in modules()}, "a new room: add it to ROOMS and ARCHITECTURE.md"
    backwards = []
    for name, path in modules().items():
        if room(name) in ON_TOP:
            continue
        for target in imports(name, path):
            if ROOMS.index(room(target)) > ROOMS.index(room(name)):
                backwards.append(f"{name} -> {target}")
    assert not backwards, f"imports running back up the rooms: {backwards}"


def test_no_two_modules_import_each_other():
    graph = {name: imports(name, path) for name, path in modules().items() if name not in ON_TOP}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def circle_from(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := circle_from(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = circle_from(start, [start])
            assert found is None, f"an import circle: {' -> '.join(found)}"


def test_open_clip_and_ipywidgets_each_have_one_home():
    homes = {"open_clip": set(), "ipywidgets": set()}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for library in homes:
                if any(n == library or n.startswith(library + ".") for n in names):
                    homes[library].add(name)
    assert homes == {"open_clip": {"words.clip"}, "ipywidgets": {"looking.widgets"}}


def test_every_module_holds_one_concept_in_few_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > LONGEST}
    assert not long, f"modules over {LONGEST} lines (split them by concept): {long}"
    undocumented = [name for name, path in modules().items() if ast.get_docstring(ast.parse(path.read_text())) is None
                    and path.stat().st_size > 0 and name != "__main__"]
    assert not undocumented, f"modules without a docstring saying their concept: {undocumented}"
