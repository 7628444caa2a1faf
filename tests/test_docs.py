"""The docs name only what exists: every repository path, `--env NAME`, `kedro <command>`, link
and README section named in README.md, docs/*.md, benchmarks/README.md and conf/README.md is
there, the layout docs name every package, env and conf file, and the measured tables are the
ones scripts/write_tables.py writes from benchmarks/results/. Reads files only: no Kedro session,
no training.

A path in code (`...` or a fenced block) is looked up from the repository root, the doc's folder,
src/, src/wgan_pipeline/ and tests/ (`<name>` and `{a,b}` as globs); a bare file name of source
or docs anywhere in the repository; what runs write (data/, mlruns/, dist/, MLflow artifacts) is
not looked up."""

from __future__ import annotations

import fnmatch
import importlib.util
import itertools
import json
import re
from functools import cache
from pathlib import Path

import click
import pytest

from .helpers import PROJECT_ROOT

DOCS = sorted(
    [
        PROJECT_ROOT / "README.md",
        *(PROJECT_ROOT / "docs").glob("*.md"),
        PROJECT_ROOT / "benchmarks" / "README.md",
        PROJECT_ROOT / "conf" / "README.md",
    ]
)
PACKAGE = PROJECT_ROOT / "src" / "wgan_pipeline"
# What a run, a build or a user writes (not in the repository), and places outside it.
OUTSIDE = (
    "data/", "mlruns", "mlflow.db", "dist/", "samples/", "build/", "~", "/", "conf/local/",
    "system/", "http:", "https:", "models:", "runs:", "sqlite:", "postgresql:",
)  # fmt: skip
FILE_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".json", ".png", ".ipynb", ".toml", ".txt", ".sh")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
ENV = re.compile(r"--env[ =]([a-z_][\w-]*)")
KEDRO = re.compile(r"(?<![\w-])kedro ([a-z][\w-]*)(?: ([a-z][\w-]*))?")
SECTION = re.compile(r'((?:[\w/]+/)?README)(?:\.md)?, "([^"]+)"')  # (benchmarks/)README, "Title"
# A bare file name (no folder) is checked for source and docs only: a bare `sample_grid.png`
# names what a run writes.
SOURCE_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".ipynb", ".toml")


def doc_id(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def code_of(text: str) -> list[str]:
    """The code in a markdown text: fenced blocks' lines and inline spans."""
    blocks = [line for block in FENCE.findall(text) for line in block.splitlines()[1:-1]]
    return blocks + SPAN.findall(FENCE.sub("", text))


def path_candidates(code: str) -> list[str]:
    """The tokens of a code span or line that name a file or folder of the repository."""
    found = []
    for word in code.split():
        token = word.strip("\"'(),;:").split("::")[0].split("#")[0]  # pytest ids, anchors
        if "=" in token or token.startswith(("-", "$", "%", "@")) or "..." in token:
            continue
        if token.startswith(OUTSIDE) or not re.fullmatch(r"[\w./<>*{},-]+", token):
            continue
        if token.endswith("/s"):  # a unit: steps/s, GFLOP/s
            continue
        if "/" in token.strip("/") or token.endswith(FILE_SUFFIXES):
            found.append(token)
    return found


def expand(pattern: str) -> list[str]:
    """`a/{b,c}/<name>.py` -> the globs a/b/*.py and a/c/*.py."""
    pattern = re.sub(r"<[^>]+>", "*", pattern)
    pattern = "/".join("*" if re.fullmatch(r"[A-Z_]{2,}", c) else c for c in pattern.split("/"))
    parts = re.split(r"\{([^}]*)\}", pattern)
    choices = [p.split(",") if i % 2 else [p] for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


@cache
def tracked_names() -> set[str]:
    skip = {".git", "data", "mlruns", ".venv", "node_modules", "__pycache__"}
    return {
        p.name for p in PROJECT_ROOT.rglob("*") if not skip & set(p.relative_to(PROJECT_ROOT).parts)
    }


def exists(name: str, doc: Path) -> bool:
    name = name.rstrip("/")
    if "/" not in name.strip("./"):  # a bare file name: a file of that name anywhere
        if not name.endswith(SOURCE_SUFFIXES):
            return True
        return any(fnmatch.fnmatch(n, g) for g in expand(name) for n in tracked_names())
    bases = (PROJECT_ROOT, doc.parent, PACKAGE, PROJECT_ROOT / "src", PROJECT_ROOT / "tests")
    for glob in expand(name):
        for base in bases:
            if "*" in glob:
                if any(base.glob(glob)):
                    return True
            elif (base / glob).exists():
                return True
    return False


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


@cache
def kedro_commands() -> dict[str, set[str]]:
    """`kedro`'s commands in this project (Kedro's, the plugins', the project's cli.py), each
    group with its subcommands."""
    from kedro.framework.cli.cli import KedroCLI  # noqa: PLC0415 (slow; only this test)

    cli = KedroCLI(project_path=PROJECT_ROOT)
    commands = {}
    for name in cli.list_commands(click.Context(cli)):
        command = cli.get_command(click.Context(cli), name)
        group = isinstance(command, click.Group)
        commands[name] = set(command.list_commands(click.Context(command))) if group else set()
    return commands


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_path_a_doc_names_exists(doc):
    text = doc.read_text()
    named = {p for code in code_of(text) for p in path_candidates(code)}
    dead = sorted(p for p in named if not exists(p, doc))
    assert not dead, f"{doc_id(doc)} names paths that do not exist: {dead}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_link_and_anchor_a_doc_has_resolves(doc):
    dead = []
    for target in LINK.findall(doc.read_text()):
        if target.startswith(("http:", "https:", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            dead.append(target)
        elif anchor and file.suffix == ".md" and anchor not in map(slug, headings(file)):
            dead.append(target)
    assert not dead, f"{doc_id(doc)} links to what does not exist: {dead}"


@pytest.mark.parametrize("doc", [*DOCS, PROJECT_ROOT / "pyproject.toml"], ids=doc_id)
def test_every_readme_section_named_exists(doc):
    dead = []
    for readme, title in SECTION.findall(doc.read_text()):
        file = PROJECT_ROOT / f"{readme}.md"
        if not file.exists() or not any(h.startswith(title) for h in headings(file)):
            dead.append(f'{readme}, "{title}"')
    assert not dead, f"{doc_id(doc)} names README sections that do not exist: {dead}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_env_a_doc_names_is_a_folder_of_conf(doc):
    envs = set(ENV.findall(doc.read_text()))
    missing = sorted(e for e in envs if not (PROJECT_ROOT / "conf" / e).is_dir())
    assert not missing, f"{doc_id(doc)} names envs with no conf/<env>/: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_kedro_command_a_doc_names_exists(doc):
    commands = kedro_commands()
    text = doc.read_text()
    unknown = {f"kedro {name}" for name, _ in KEDRO.findall(text) if name not in commands}
    for code in code_of(text):  # in code, a group's subcommand too (`kedro mlflow ui`)
        for name, sub in KEDRO.findall(code):
            if sub and commands.get(name) and sub not in commands[name]:
                unknown.add(f"kedro {name} {sub}")
    assert not unknown, f"{doc_id(doc)} names kedro commands that do not exist: {sorted(unknown)}"


def test_docs_layout_names_every_module_and_subpackage():
    text = (PROJECT_ROOT / "docs" / "layout.md").read_text()
    names = [p.name + "/" for p in PACKAGE.iterdir() if any(p.glob("*.py"))]
    names += [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    missing = sorted(n for n in names if n not in text)
    assert not missing, f"docs/layout.md does not name {missing}"


def test_conf_readme_names_every_env_and_base_file():
    text = (PROJECT_ROOT / "conf" / "README.md").read_text()
    names = [p.name + "/" for p in (PROJECT_ROOT / "conf").iterdir() if p.is_dir()]
    names += [p.name for p in (PROJECT_ROOT / "conf").glob("*/*.yml")]
    missing = sorted({n for n in names if n not in text and not n.startswith("parameters")})
    assert not missing, f"conf/README.md does not name {missing}"


def write_tables():
    spec = importlib.util.spec_from_file_location(
        "write_tables", PROJECT_ROOT / "scripts" / "write_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_measured_tables_are_the_ones_the_results_files_give():
    for doc, text in write_tables().written().items():
        assert doc.read_text() == text, (
            f"{doc_id(doc)}: a table differs from benchmarks/results/; run "
            "`python scripts/write_tables.py` (or change the results file, not the table)"
        )


@pytest.mark.parametrize(
    "results",
    sorted((PROJECT_ROOT / "benchmarks" / "results").glob("*.json")),
    ids=lambda p: p.name,
)
def test_every_results_file_names_its_command_and_machine(results):
    report = json.loads(results.read_text())
    assert "command" in report or "runs" in report and all("command" in r for r in report["runs"])
    assert report.get("machine") or report.get("device")
