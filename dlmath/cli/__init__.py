"""The ``dlmath`` command, one module per family of subcommands."""
