"""`make bench`: the whole benchmark suite (see embedspace.eval.bench); args pass through."""

import sys

from embedspace.eval.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
