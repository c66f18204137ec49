"""Reports: report.json and report.html, comparing runs, the version matrix, reproductions."""
