"""``python -m caiclient``: the ``caiclient`` command."""

import sys

from caiclient.cli import main

if __name__ == "__main__":
    sys.exit(main())
