"""The course's nbgrader preprocessors (configured in nbgrader_config.py)."""
