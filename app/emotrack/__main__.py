import multiprocessing
import sys

from emotrack.cli.main import main

if __name__ == "__main__":
    # A frozen build starts `emotrack batch`'s worker processes through its own executable.
    multiprocessing.freeze_support()
    sys.exit(main())
