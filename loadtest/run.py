"""`python -m loadtest.run`: the load test's documented command (`make loadtest`, `imgpipe loadtest`)."""

from loadtest.load.run import main

if __name__ == "__main__":
    main()
