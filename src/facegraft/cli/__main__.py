"""`python -m facegraft.cli`: the same as the `facegraft` command."""

import sys

from facegraft.cli import main

sys.exit(main())
