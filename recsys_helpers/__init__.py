"""recsys_helpers: MovieLens loading and biased matrix factorisation by ALS.

The public names are re-exported here; implementations live in modules of one
responsibility each (see the README's layout section).
"""

__version__ = "0.1.0"
