"""`make bench`: the whole benchmark suite (see benchmarks.bench); args pass through."""

import sys

from benchmarks.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
