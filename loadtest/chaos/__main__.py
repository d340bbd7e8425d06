"""`python -m loadtest.chaos`."""

from loadtest.chaos.run import main

main()
