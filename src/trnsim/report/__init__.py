"""Reports: the system comparison (tables, plots, HTML) and the launch-claims check."""
