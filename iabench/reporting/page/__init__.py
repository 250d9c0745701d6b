"""The report's page: sections and rendering, opening, notes, family tables, TeX, trust, own-baseline marks."""
