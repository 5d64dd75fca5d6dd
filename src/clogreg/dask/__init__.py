"""clogreg on Dask: exact fits over the row blocks of dask arrays, on a cluster or
out of core (``pip install "clogreg[dask]"``).

`LogisticRegression` has the parameters and fitted attributes of
`clogreg.LogisticRegression` plus ``client``; each pass over the data is one task per
block running clogreg's kernel where the block lives, and the partial sums are
reduced in block order, so the fit is the in-memory optimum, independent of the
number of workers.
"""
try:
    import dask
    import dask.array  # noqa: F401
except ImportError as exc:
    raise ImportError(
        "clogreg.dask needs Dask: install the extra with pip install \"clogreg[dask]\" "
        "(dask[array] and distributed)") from exc

from ._estimator import LogisticRegression
from ._rows import DaskRows

__all__ = ["DaskRows", "LogisticRegression"]
