"""The course's nbgrader plugins: exports, the late policy, LMS archives for zip_collect."""
