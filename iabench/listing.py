"""`iabench list` from a cached listing: the catalog is built by importing every plugin (torch, timm, captum,
quantus: seconds), so its text is kept under a key of what it is made of, the plugin packages' files (path, size,
modification time) and the installed versions of the libraries they read, and printed from there while that key
holds. Nothing here imports torch; a changed plugin file or library version rebuilds it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import platform
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

from .cache_home import default_cache_dir

PACKAGES = ("iabench", "baselines", "metrics")  # where the plugins live (their registries discover these)
LIBRARIES = ("torch", "torchvision", "timm", "transformers", "captum", "quantus", "pandas", "numpy", "pyyaml")


def listing_key() -> str:
    """A hash of every file the catalog is made of and the versions of the libraries it reads."""
    digest = hashlib.sha256(platform.python_version().encode())
    for package in PACKAGES:
        spec = find_spec(package)  # finds the folder without importing the package
        folders = list(spec.submodule_search_locations or []) if spec else []
        for folder in folders:
            for path in sorted(Path(folder).rglob("*")):
                if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                    stat = path.stat()
                    digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
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


def cached_listing(markdown: bool = False, cache_dir: Path | None = None) -> str:
    """The catalog's text: from the cache while its key holds, else built and stored (a cache that cannot be
    written is skipped: the listing is still printed)."""
    form = "markdown" if markdown else "text"
    path = (cache_dir or default_cache_dir()) / "listing" / f"{form}-{listing_key()}.txt"
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
