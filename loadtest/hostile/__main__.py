"""`python -m loadtest.hostile`."""

import sys

from loadtest.hostile.run import main

main(sys.argv[1:])
