"""``python -m torchperf`` runs the command line."""

import sys

from torchperf.cli import main

sys.exit(main())
