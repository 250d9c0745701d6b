"""`iabench list` without importing the plugins: the catalog is built by importing every plugin (torch, timm,
captum, quantus: seconds), so its text is declared in ``listing.json`` beside this file, with a digest of the files
it is made of (the plugin packages, the suites, the catalog), and printed from there while that digest holds. A test
checks that the declaration is the catalog the code builds (``python -m iabench.listing`` writes it again).

Where the files differ (a plugin edited in a checkout), the text is built once and kept in the cache under a key of
the digest and the installed versions of the libraries the plugins read. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

from .cache_home import default_cache_dir

DECLARED = Path(__file__).with_name("listing.json")
# what the listing is made of: (package, its parts that hold plugins, declarations or the listing's code)
SOURCES = (("iabench", ("catalog.py", "contract", "data", "models", "suites")), ("baselines", ("",)),
           ("metrics", ("",)))
LIBRARIES = ("torch", "torchvision", "timm", "transformers", "captum", "quantus", "pandas", "numpy", "pyyaml")
FORMS = ("text", "markdown")


def plugin_digest() -> str:
    """A hash of the contents of every file the catalog is made of, by path inside its package (the same in any
    clone)."""
    digest = hashlib.sha256()
    for package, parts in SOURCES:
        spec = find_spec(package)  # finds the folder without importing the package
        for folder in (spec.submodule_search_locations or []) if spec else []:
            root = Path(folder)
            for part in parts:
                paths = [root / part] if (root / part).is_file() else sorted((root / part).rglob("*"))
                for path in paths:
                    if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                        digest.update(f"{package}/{path.relative_to(root)}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def listing_key(files: str) -> str:
    """The cache's key: the files' digest (``plugin_digest``), the Python version and the versions of the libraries
    the plugins read."""
    digest = hashlib.sha256(f"{files} {platform.python_version()}".encode())
    for library in LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none".encode())
    return digest.hexdigest()[:16]


def build_listing(markdown: bool) -> str:
    """The catalog's text, built by importing every plugin."""
    from .catalog import print_catalog

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        print_catalog(markdown=markdown)
    return text.getvalue()


def declared_listing(markdown: bool, files: str) -> str | None:
    """The declared text, where its digest is ``files`` (the files' own); else None."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        declared = json.loads(DECLARED.read_text(encoding="utf-8"))
        if declared["digest"] == files:
            return declared[FORMS[markdown]]
    return None


def cached_listing(markdown: bool = False, cache_dir: Path | None = None) -> str:
    """The catalog's text: declared, else from the cache while its key holds, else built and stored (a cache that
    cannot be written is skipped: the listing is still printed)."""
    files = plugin_digest()  # read once: the declaration and the cache are both checked against it
    declared = declared_listing(markdown, files)
    if declared is not None:
        return declared
    form = FORMS[markdown]
    path = (cache_dir or default_cache_dir()) / "listing" / f"{form}-{listing_key(files)}.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    text = build_listing(markdown)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{form}-*.txt"):  # one listing per form: the stale ones go
            old.unlink(missing_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return text


def write_declared() -> Path:
    """Write ``listing.json`` from the catalog the code builds now."""
    texts = {form: build_listing(form == "markdown") for form in FORMS}
    DECLARED.write_text(json.dumps({"digest": plugin_digest(), **texts}, indent=1) + "\n", encoding="utf-8")
    return DECLARED


if __name__ == "__main__":
    print(f"wrote {write_declared()}")
