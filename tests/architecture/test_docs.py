"""The documentation: README.md is one screen that points into docs/, and docs/ builds as a MkDocs site (mkdocs.yml)
with no broken link or anchor and no page outside the nav. Without mkdocs the build test skips with the reason,
except under CI, where it fails."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
MKDOCS_YML = ROOT / "mkdocs.yml"
README_MAX_LINES = 250
FIRST_SCREEN = 40  # lines


class _Loader(yaml.SafeLoader):
    """mkdocs.yml as data; tags such as ``!!python/name:`` (some extensions' settings) read as None."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def slugify(text: str) -> str:
    """A heading's id as Python-Markdown's toc extension makes it (its default ``slugify``): ASCII-folded, characters
    other than word characters, spaces and hyphens dropped, lowercase, runs of spaces and hyphens one hyphen."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def heading_text(markdown: str) -> str:
    """A heading's text as rendered (what toc slugifies): links to their text, code and emphasis markers removed."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    return re.sub(r"[`*]", "", text)


def anchors(page: Path) -> set[str]:
    """The ids of a markdown page's ATX headings outside code fences (a repeated id gets _1, _2, ... as toc does)."""
    found: set[str] = set()
    fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        match = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            explicit = re.search(r"\{[^}]*#([\w-]+)[^}]*\}\s*$", match[1])  # attr_list: ## Title {#id}
            base = explicit[1] if explicit else slugify(heading_text(match[1]))
            slug, n = base, 0
            while slug in found:
                n += 1
                slug = f"{base}_{n}"
            found.add(slug)
    return found


def nav_pages(nav) -> list[str]:
    """Every page path named in mkdocs.yml's nav (nested sections included; external URLs left out)."""
    if isinstance(nav, str):
        return [] if re.match(r"^[a-z][a-z0-9+.-]*://", nav) else [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    return []


def config() -> dict:
    return yaml.load(MKDOCS_YML.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader


def docs_dir() -> Path:
    return ROOT / config().get("docs_dir", "docs")


def readme_links() -> list[tuple[str, str]]:
    """(path, anchor) of every link or image in README that points into docs/ ('' when no anchor is given)."""
    text = README.read_text(encoding="utf-8")
    return [(m[1], m[2] or "") for m in re.finditer(r"\]\(<?(docs/[^)\s#>]*)(?:#([^)\s>]*))?>?\)", text)]


def test_site_builds_strictly(tmp_path) -> None:
    """`mkdocs build --strict`: any warning (a broken link or anchor, a page outside the nav, a nav entry to a
    missing file, an absolute or unrecognised link) fails the build."""
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (pip install -e '.[docs]')"
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the documentation: {reason}")
        pytest.skip(reason)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about MkDocs 2.0, not a build warning
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             str(tmp_path / "site"), "-f", "mkdocs.yml"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    root = docs_dir()
    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    nav = nav_pages(config().get("nav"))
    assert pages, f"no markdown page under {root}"
    assert sorted(set(nav)) == sorted(nav), f"pages twice in the nav: {sorted({p for p in nav if nav.count(p) > 1})}"
    assert [p for p in pages if p not in nav] == [], "pages missing from mkdocs.yml's nav"
    assert [p for p in nav if not (root / p).is_file()] == [], "nav entries without a file under docs/"


def test_readme_is_short_and_its_docs_links_resolve() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"
    links = readme_links()
    assert links, "README.md links to no page of docs/"
    broken = []
    for path, anchor in links:
        target = ROOT / path
        if not target.is_file():
            broken.append(f"{path}: no such file")
        elif anchor and (target.suffix != ".md" or anchor not in anchors(target)):
            broken.append(f"{path}#{anchor}: no heading with that id")
    assert broken == []
    linked = {path.removeprefix("docs/") for path, _ in links}
    assert [p for p in nav_pages(config().get("nav")) if p not in linked] == [], "nav pages README does not link"


def test_readme_first_screen_gives_the_two_commands() -> None:
    first = "\n".join(README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN])
    for command in ("make run", "make test"):
        assert re.search(rf"^{command}\b", first, re.M), f"'{command}' is not on a line of its own in README's " \
                                                         f"first {FIRST_SCREEN} lines"


@pytest.mark.parametrize(("heading", "slug"), [
    ("The IA-ViT study and its verdict", "the-ia-vit-study-and-its-verdict"),
    ("GPU and many GPUs", "gpu-and-many-gpus"),
    ("What the tests pin down", "what-the-tests-pin-down"),
    ("Insertion/deletion: `step` & λ — (ii)", "insertiondeletion-step-ii"),
])
def test_slugs_are_those_of_python_markdown(heading: str, slug: str) -> None:
    assert slugify(heading_text(heading)) == slug
    if importlib.util.find_spec("markdown") is not None:  # the toc extension itself, when installed
        from markdown.extensions.toc import slugify as toc_slugify

        assert toc_slugify(heading_text(heading), "-") == slug
