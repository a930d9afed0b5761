"""The ``lca`` command, one module per subcommand.

``main.py`` builds the parser from the one tuple of command modules and runs the chosen one;
each module has ``add_parser(subparsers)`` (its subparser, options and help) and
``run(args) -> int`` (the exit code). ``options.py`` holds the options and helpers several
commands share. ``blender.py`` finds ``lca blender``, which the lca_addon package provides
through the entry point group "lca.commands" (core never imports lca_addon).
"""
