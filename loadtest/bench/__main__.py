"""`python -m loadtest.bench`."""

from loadtest.bench.run import main

main()
