"""Reports for the instructor: text tables, the item analysis and the similarity page."""
