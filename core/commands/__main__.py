"""``python -m core.commands ...`` is the ``lca`` command."""

import sys

from .main import main

sys.exit(main())
