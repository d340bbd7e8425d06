"""`python -m deploy.cli`."""

from deploy.cli import main

main()
