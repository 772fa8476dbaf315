"""Adapters that give each peer library the same small interface.

Each module wraps one library: a model class with ``fit(train) -> self`` and
``predict(pairs) -> ndarray`` (NaN where the library declines to predict), the tuning grids
used by ``bench_accuracy.py``, and ``epoch_seconds(...)`` used by ``bench_speed.py``.
Modules import their library lazily, so this package imports without the peers installed.
"""

PEERS = ("lenskit", "surprise", "spark", "myfm", "cmfrec")
