"""``dlmath grade``: the pipeline, its workers, and whether each grade is final."""
