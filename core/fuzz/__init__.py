"""Fuzzing the readers of user input in-process: ``lca bench fuzz``.

``mutate.py`` (seeded byte and JSON mutations), ``lca_target.py`` (the `.lca` reader),
``json_targets.py`` (PLY, pose JSON and camera JSON readers), ``run.py`` (the bounded loop,
the outcome table, the inputs that broke a reader kept in ``out/fuzz/``).
"""
