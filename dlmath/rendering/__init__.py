"""Student content rendered inert in nbconvert's pages, and the formgrader's CSP."""
