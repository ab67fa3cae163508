import sys

from emotrack.cli.main import main

sys.exit(main())
