"""Where iabench caches (models, explanations, costs, the plugin listing): light, so that commands which only
read the cache's place import nothing heavy."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    return Path(os.environ.get("IABENCH_CACHE", Path.home() / ".cache" / "iabench"))
