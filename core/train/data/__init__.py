"""Training data: synthetic studio subjects (``synth``), their shards on disk (``shards``)
and users' own multi-view captures (``capture``); docs/data.md."""
