"""One file per model family, each defining ``SEAM`` (its ``Seam`` subclass) and, for loading, ``load``."""
