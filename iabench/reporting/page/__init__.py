"""The report's page: its sections and their rendering (report.md, report.html), the opening lines, the notes on
how to read each section, the summary as family tables and TeX, the trust section and the own-baseline marks."""
