"""``python -m caiclient``: the ``caiclient`` command."""

import sys

from caiclient.cli import main

sys.exit(main())
