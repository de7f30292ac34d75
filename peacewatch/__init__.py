"""peacewatch: news watchers, a rules engine and chat alerts for the Russia-Ukraine peace talks."""

import os

# numpy loads OpenBLAS, which starts a thread for every core when it is imported (about 0.1 CPU s
# at each start of the command and of each worker process); nothing here uses BLAS or LAPACK.
# A value the user set stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
