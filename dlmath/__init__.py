"""Mathematics of Deep Learning: the course package (test-cell helpers and instructor pipeline)."""
