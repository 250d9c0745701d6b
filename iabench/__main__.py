"""``python -m iabench`` is the same CLI as the ``iabench`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
