"""The LMS's students in the gradebook (roster import)."""
