"""``python -m gmm_lab``: the same command as ``gmm-lab`` (see :mod:`gmm_lab.cli`)."""

import sys

from gmm_lab.cli import main

sys.exit(main())
