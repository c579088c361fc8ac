"""``dlmath hub``: the course on JupyterHub, and its shared exchange."""
