"""Report rendering and export: computed tables (from :mod:`trialviz.tables`) formatted once as great_tables
report tables, and written as CSV, XLSX or an HTML report. Nothing here computes a statistic."""
