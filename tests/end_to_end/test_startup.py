"""Start-up: `iabench list` printed from its declaration (listing.json, checked here to be the catalog the code
builds), else from a cache rebuilt when a plugin file or a library version changes, read without importing torch;
a missing path refused before the heavy imports. The seconds are benchmarks/bench_startup.py's, not asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from iabench import listing
from iabench.listing import build_listing, cached_listing, listing_key, plugin_digest

PROBE = ("import sys; from iabench.cli import main; code = main({argv}); "
         "print('exit', code, 'torch imported' if 'torch' in sys.modules else 'torch not imported')")


def fresh_interpreter(argv: list[str], cache: Path) -> subprocess.CompletedProcess:
    """``main(argv)`` in a new interpreter (this one has torch imported already)."""
    env = {**os.environ, "IABENCH_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_the_declared_listing_is_the_catalog_the_code_builds() -> None:
    declared = json.loads(listing.DECLARED.read_text())
    regenerate = "the plugins changed: python -m iabench.listing writes iabench/listing.json again"
    assert declared["digest"] == plugin_digest(), regenerate
    assert declared["text"] == build_listing(False) and declared["markdown"] == build_listing(True), regenerate


@pytest.mark.parametrize("markdown", [False, True])
def test_without_a_declaration_the_listing_is_cached(tmp_path: Path, markdown: bool, monkeypatch) -> None:
    stale = tmp_path / "listing.json"  # a declaration of other files: not used
    stale.write_text(json.dumps({"digest": "0" * 16, "text": "stale\n", "markdown": "stale\n"}))
    monkeypatch.setattr(listing, "DECLARED", stale)
    built = build_listing(markdown)
    assert cached_listing(markdown, tmp_path) == built  # built and stored
    stored = list((tmp_path / "listing").glob("*.txt"))
    assert len(stored) == 1 and stored[0].read_text() == built
    stored[0].write_text("from the cache\n")  # the second call reads the file, not the plugins
    assert cached_listing(markdown, tmp_path) == "from the cache\n"


def test_the_key_follows_the_library_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    before = listing_key(plugin_digest())
    assert listing_key(plugin_digest()) == before
    real = metadata.version
    monkeypatch.setattr(listing.metadata, "version", lambda name: "9.9" if name == "timm" else real(name))
    assert listing_key(plugin_digest()) != before


def test_a_warm_listing_and_a_missing_path_import_no_torch(tmp_path: Path) -> None:
    cached_listing(False, tmp_path)  # declared in a clean checkout; else warmed here, in this process
    listed = fresh_interpreter(["list"], tmp_path)
    assert listed.stdout.splitlines()[-1] == "exit 0 torch not imported", listed.stderr
    assert listed.stdout.startswith("suites:")
    for argv, said in ((["run", "--model", "vit_tiny_patch16_224", "--checkpoint", "/nonexistent/w.pth"],
                        "--checkpoint '/nonexistent/w.pth' does not exist; give the file of the model's weights"),
                       (["run", "--model", "hf:/nonexistent/vit"],
                        "--model hf:'/nonexistent/vit' is not a folder; give the folder save_pretrained wrote"),
                       (["run", "--data-root", "/nonexistent/data"],
                        "--data-root '/nonexistent/data' is not a folder; give the folder that holds the dataset's "
                        "files")):
        refused = fresh_interpreter(argv, tmp_path)
        assert refused.stdout.splitlines()[-1] == "exit 2 torch not imported", refused.stderr
        assert refused.stderr.strip() == f"iabench: error: {said}"


def test_the_key_follows_the_plugin_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin file added or edited (another size) changes the key: the listing is rebuilt."""
    package = tmp_path / "plugins_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(listing, "SOURCES", (("plugins_probe", ("",)),))
    before = listing_key(plugin_digest())
    (package / "new_explainer.py").write_text("NAME = 'x'\n")
    added = listing_key(plugin_digest())
    (package / "new_explainer.py").write_text("NAME = 'xy'\n")
    assert len({before, added, listing_key(plugin_digest())}) == 3
