"""``python -m caiclient.emulator``: run the emulator until Ctrl-C."""

import sys

from caiclient.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
