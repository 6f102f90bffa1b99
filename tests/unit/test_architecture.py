"""The shape of lfp's code: which module may import which, and how big a module or function gets.

The rules below are the architecture, written down where a test can hold it: HTTP routes and
protocol adapters sit on services, services on the database and storage, wiring (app, bootstrap,
worker) and entry points (cli) on top, and the client and CLI beside the server rather than in
it. Without a check each rule erodes one convenient import at a time, until a cycle or a service
that needs a request object makes a change ripple through the whole tree. The source is read with
`ast`, never imported; imports inside functions and under `if TYPE_CHECKING:` count too, since a
lazy import is still a dependency. Each failure lists every offender as file:line and the rule.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.architecture import Codebase, cycles, matches_any, shortest_cycle

# Patterns: `lfp.x` is that module and everything under it, `lfp.__init__` just the package.
SRC = Path(__file__).resolve().parents[2] / "src"
NOT_CHECKED = ("lfp.db.migrations",)  # Alembic's environment and generated revisions
DOMAINS = (
    "lfp.auth",
    "lfp.admin",
    "lfp.uploads",
    "lfp.files",
    "lfp.jobs",
    "lfp.processors",
    "lfp.catalog",
)
SHARED = ("lfp.config", "lfp.errors", "lfp.digests")  # used by every layer, so they sit below all
INFRASTRUCTURE = ("lfp.storage", "lfp.db", "lfp.http", "lfp.client", *SHARED)
WIRING_AND_ENTRY_POINTS = ("lfp.app", "lfp.bootstrap", "lfp.cli", "lfp.worker")
PROTOCOL_ADAPTERS = ("lfp.uploads.tus", "lfp.uploads.dropzone")
HTTP_FACING = (
    "lfp.app",
    "lfp.health",
    "lfp.deps",
    "lfp.http",
    "lfp.web",
    "*.routes",
    *PROTOCOL_ADAPTERS,
)
# Framework-free codecs of HTTP field values, for any module that speaks HTTP as a client too
# (the forward processor sends Repr-Digest).
FIELD_CODECS = ("lfp.http.content_digest",)
WEB_FRAMEWORK = ("fastapi", "fastapi_offline", "starlette", "python_multipart", "multipart")
PERSISTENCE = ("lfp.storage", "lfp.db")
PERSISTENCE_MAY_SEE_DOMAINS = ("lfp.db.models",)  # gathers every domain's tables for Alembic
CLIENT_SIDE = ("lfp.client", "lfp.cli")  # everything else in lfp is the server
# Inside a function only: the server, and what `lfp users` needs of it.
CLI_STARTS_LAZILY = (
    "lfp.app",
    "lfp.worker",
    "lfp.db.migrate",
    "lfp.bootstrap",
    "lfp.admin",
    "lfp.errors",
)
CLIENT_SIDE_MAY_IMPORT: Mapping[str, tuple[str, ...]] = {  # their only imports from lfp
    "lfp.client": ("lfp.client", "lfp.__init__"),  # the package itself holds just __version__
    "lfp.cli": ("lfp.client", "lfp.cli", "lfp.config", *CLI_STARTS_LAZILY),
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60  # from `def` to the last line, decorators excluded


@pytest.fixture(scope="module")
def lfp() -> Codebase:
    return Codebase.load(SRC, "lfp", exclude=NOT_CHECKED)


def test_the_import_graph_has_no_cycles(lfp: Codebase) -> None:
    assert_none("no import cycles", import_cycles(lfp))


def test_domains_and_infrastructure_never_import_the_wiring_or_entry_points(lfp: Codebase) -> None:
    offenders = forbidden_imports(lfp, (*DOMAINS, *INFRASTRUCTURE), WIRING_AND_ENTRY_POINTS)
    assert_none("domains and infrastructure never import app, bootstrap, cli, worker", offenders)


def test_only_http_facing_modules_touch_the_web_framework_or_the_routes(lfp: Codebase) -> None:
    offenders = web_layer_imports_below_the_web_layer(lfp)
    assert_none("only HTTP-facing modules import fastapi/starlette/multipart or them", offenders)


def test_storage_and_database_know_nothing_of_the_domains(lfp: Codebase) -> None:
    offenders = forbidden_imports(lfp, PERSISTENCE, DOMAINS, exempt=PERSISTENCE_MAY_SEE_DOMAINS)
    assert_none("lfp.storage and lfp.db (but lfp.db.models) never import a domain", offenders)


def test_the_client_and_the_cli_import_no_server_module(lfp: Codebase) -> None:
    assert_none("the client side imports only its allowed lfp modules", client_side_imports(lfp))


def test_the_cli_imports_the_server_only_inside_functions(lfp: Codebase) -> None:
    offenders = eager_server_imports_in_the_cli(lfp)
    assert_none("lfp.cli imports lfp.app, lfp.worker, lfp.db.migrate only lazily", offenders)


def test_no_module_is_longer_than_the_limit(lfp: Codebase) -> None:
    assert_none(f"no module over {MAX_MODULE_LINES} lines", oversized_modules(lfp))


def test_no_function_is_longer_than_the_limit(lfp: Codebase) -> None:
    assert_none(f"no function over {MAX_FUNCTION_LINES} lines", overlong_functions(lfp))


# The checks: each returns one line (or block) per offender, in file order.


def import_cycles(code: Codebase) -> list[str]:
    graph = code.graph()
    offenders = []
    for component in cycles(graph):
        example = " -> ".join(shortest_cycle(graph, component[0]))
        edges = "\n".join(f"    {found.describe()}" for found in code.imports_between(component))
        offenders.append(f"cycle among {', '.join(component)}\n    e.g. {example}\n{edges}")
    return offenders


def forbidden_imports(
    code: Codebase, importers: Iterable[str], imported: Iterable[str], exempt: Iterable[str] = ()
) -> list[str]:
    """Imports from a module matching `importers` (but not `exempt`) of one matching `imported`."""
    return [
        found.describe()
        for found in code.imports
        if matches_any(found.importer.name, importers)
        if not matches_any(found.importer.name, exempt)
        if matches_any(found.target, imported)
    ]


def web_layer_imports_below_the_web_layer(code: Codebase) -> list[str]:
    exempt = (*HTTP_FACING, *CLIENT_SIDE)  # so it covers the server below HTTP, wiring included
    return [
        found.describe()
        for found in code.imports
        if not matches_any(found.importer.name, exempt)
        if matches_any(found.target, (*WEB_FRAMEWORK, *HTTP_FACING))
        if not matches_any(found.target, FIELD_CODECS)
    ]


def client_side_imports(code: Codebase) -> list[str]:
    return [
        f"{found.describe()}, but {side} may import only {', '.join(allowed)}"
        for side, allowed in CLIENT_SIDE_MAY_IMPORT.items()
        for found in code.imports
        if matches_any(found.importer.name, [side])
        if matches_any(found.target, ["lfp"]) and not matches_any(found.target, allowed)
    ]


def eager_server_imports_in_the_cli(code: Codebase) -> list[str]:
    return [
        f"{found.describe()}: move it into the function that needs it"
        for found in code.imports
        if matches_any(found.importer.name, ["lfp.cli"])
        if matches_any(found.target, CLI_STARTS_LAZILY)
        if not (found.lazy or found.typing_only)
    ]


def oversized_modules(code: Codebase) -> list[str]:
    return [
        f"{module.path}:1: {module.name} has {module.line_count} lines"
        for module in code.modules.values()
        if module.line_count > MAX_MODULE_LINES
    ]


def overlong_functions(code: Codebase) -> list[str]:
    offenders = []
    for module, name, function in code.functions():
        length = (function.end_lineno or function.lineno) - function.lineno + 1
        if length > MAX_FUNCTION_LINES:
            where = f"{module.path}:{function.lineno}"
            offenders.append(f"{where}: {module.name}.{name} has {length} lines")
    return offenders


def assert_none(rule: str, offenders: list[str]) -> None:
    __tracebackhide__ = True
    if offenders:
        listing = "\n".join(f"  {offender}" for offender in offenders)
        raise AssertionError(f"{len(offenders)} violation(s) of the rule: {rule}\n{listing}")


# Self-checks: the same checks on small fake trees, to show that they catch what they claim.


def fake_tree(root: Path, files: Mapping[str, str]) -> Codebase:
    for name, source in files.items():
        path = root / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return Codebase.load(root / "src", "lfp", exclude=NOT_CHECKED)


def test_a_cycle_through_every_kind_of_import_is_found(tmp_path: Path) -> None:
    code = fake_tree(
        tmp_path,
        {
            "lfp/__init__.py": "",
            "lfp/a.py": "from lfp import b  # a submodule, so this is lfp.b\n",
            "lfp/b.py": "def later() -> None:\n    from .c import thing\n",
            "lfp/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lfp.pkg\n",
            "lfp/pkg/__init__.py": "from ..a import name  # relative, from a package\n",
            "lfp/outside.py": "import lfp.a\nfrom lfp import pkg\n",
            "lfp/db/migrations/env.py": "import lfp.outside\n",
        },
    )

    assert code.graph()["lfp.outside"] == {"lfp.a", "lfp.pkg"}
    assert "lfp.db.migrations.env" not in code.modules
    assert import_cycles(code) == [
        "cycle among lfp.a, lfp.b, lfp.c, lfp.pkg\n"
        "    e.g. lfp.a -> lfp.b -> lfp.c -> lfp.pkg -> lfp.a\n"
        "    src/lfp/a.py:1: lfp.a imports lfp.b\n"
        "    src/lfp/b.py:2: lfp.b imports lfp.c (inside a function)\n"
        "    src/lfp/c.py:3: lfp.c imports lfp.pkg (for type checking only)\n"
        "    src/lfp/pkg/__init__.py:1: lfp.pkg imports lfp.a"
    ]
    assert import_cycles(fake_tree(tmp_path / "acyclic", {"lfp/a.py": "import lfp.b\n"})) == []


def test_forbidden_imports_are_found_and_allowed_ones_are_not(tmp_path: Path) -> None:
    code = fake_tree(
        tmp_path,
        {
            "lfp/__init__.py": "",
            "lfp/files/__init__.py": "",
            "lfp/app.py": "import fastapi\nfrom lfp.files import routes\n",
            "lfp/jobs/runner.py": "def run() -> None:\n    from lfp.worker import main\n",
            "lfp/jobs/service.py": "import fastapi.responses\nfrom lfp.files import routes\n",
            "lfp/files/routes.py": "from fastapi import APIRouter\nfrom lfp.files import service\n",
            "lfp/files/service.py": "from lfp.storage import local\n",
            "lfp/storage/local.py": "from lfp.uploads.models import Upload\n",
            "lfp/db/models.py": "from lfp.uploads.models import Upload\n",
            "lfp/client/api.py": "from lfp import __version__\nfrom lfp.errors import LfpError\n",
            "lfp/cli.py": """
                from lfp.app import create_app
                from lfp.client import api
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from lfp.worker import Worker
                def serve() -> None:
                    from lfp.worker import main
                    from lfp.jobs import runner
            """,
        },
    )

    assert forbidden_imports(code, (*DOMAINS, *INFRASTRUCTURE), WIRING_AND_ENTRY_POINTS) == [
        "src/lfp/jobs/runner.py:2: lfp.jobs.runner imports lfp.worker (inside a function)"
    ]
    assert web_layer_imports_below_the_web_layer(code) == [
        "src/lfp/jobs/service.py:1: lfp.jobs.service imports fastapi.responses",
        "src/lfp/jobs/service.py:2: lfp.jobs.service imports lfp.files.routes",
    ]
    assert forbidden_imports(code, PERSISTENCE, DOMAINS, exempt=PERSISTENCE_MAY_SEE_DOMAINS) == [
        "src/lfp/storage/local.py:1: lfp.storage.local imports lfp.uploads.models"
    ]
    assert [line.split(", but")[0] for line in client_side_imports(code)] == [
        "src/lfp/client/api.py:2: lfp.client.api imports lfp.errors",
        "src/lfp/cli.py:8: lfp.cli imports lfp.jobs.runner (inside a function)",
    ]
    assert eager_server_imports_in_the_cli(code) == [
        "src/lfp/cli.py:1: lfp.cli imports lfp.app: move it into the function that needs it"
    ]


def test_sizes_over_the_limits_are_found(tmp_path: Path) -> None:
    def function(name: str, lines: int) -> str:
        return f"@decorator\ndef {name}() -> None:\n" + "    pass\n" * (lines - 1)

    just_right = function("fits", MAX_FUNCTION_LINES)
    too_long = "class Thing:\n" + textwrap.indent(function("method", MAX_FUNCTION_LINES + 1), "  ")
    padding = "\n" * (MAX_MODULE_LINES - just_right.count("\n"))
    code = fake_tree(
        tmp_path, {"lfp/fits.py": just_right + padding, "lfp/big.py": too_long + padding}
    )

    assert oversized_modules(code) == [
        f"src/lfp/big.py:1: lfp.big has {MAX_MODULE_LINES + 2} lines"
    ]
    assert overlong_functions(code) == [
        f"src/lfp/big.py:3: lfp.big.Thing.method has {MAX_FUNCTION_LINES + 1} lines"
    ]
