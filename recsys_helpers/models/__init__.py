"""Rating models on one estimator life-cycle, their kernels, ranking and persistence.

:class:`~recsys_helpers.models.base.FactorModel` owns the life-cycle; the models add their
own blocks and priors: :class:`BiasedMF` and :class:`BiasOnly` (ALS),
:class:`HybridMF` (feature priors on movies), :class:`TimeAwareMF` (time-aware biases),
:class:`BayesianMF` (Bayesian PMF by Gibbs sampling), :class:`BayesianTimeMF` (the same with
time-aware biases). :class:`ContentBaseline` is the
per-user ridge regression on movie features they are compared with. Importing this package
registers every model class with :mod:`~recsys_helpers.models.persistence`, so
:func:`load_model` can rebuild whichever class a file names.
"""

from recsys_helpers.models.als import BiasedMF, BiasOnly
from recsys_helpers.models.base import FactorModel
from recsys_helpers.models.bayes import BayesianMF
from recsys_helpers.models.bayes_time import BayesianTimeMF
from recsys_helpers.models.content import ContentBaseline
from recsys_helpers.models.features import item_features
from recsys_helpers.models.hybrid import HybridMF
from recsys_helpers.models.persistence import MODEL_CLASSES, load_model, save_model
from recsys_helpers.models.temporal import TimeAwareMF

__all__ = [
    "MODEL_CLASSES",
    "BayesianMF",
    "BayesianTimeMF",
    "BiasOnly",
    "BiasedMF",
    "ContentBaseline",
    "FactorModel",
    "HybridMF",
    "TimeAwareMF",
    "item_features",
    "load_model",
    "save_model",
]
