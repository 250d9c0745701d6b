"""The report's figures: files, one style per explainer, curves, bars, maps, training, headline, CD diagrams."""
