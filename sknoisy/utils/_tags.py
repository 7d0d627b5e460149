"""Estimator tags of the estimators that are also samplers (``fit_resample``).

imbalanced-learn's estimator checks read two tags that scikit-learn's
:class:`~sklearn.utils.Tags` lacks: ``input_tags.dataframe`` and
``sampler_tags.sample_indices``. imbalanced-learn is not a dependency of
sknoisy, so the tags are declared here as subclasses of scikit-learn's
dataclasses with the same field names and meaning as imbalanced-learn's
(``imblearn.utils._tags``); scikit-learn reads them as its own tags.
"""

from dataclasses import dataclass, fields

from sklearn.utils import Tags
from sklearn.utils._tags import InputTags

__all__ = ["SamplerTags", "sampler_tags"]


@dataclass(slots=True)
class SamplerInputTags(InputTags):
    """scikit-learn's input tags plus imbalanced-learn's ``dataframe``.

    Parameters
    ----------
    dataframe : bool, default=False
        Whether ``fit_resample`` accepts a pandas DataFrame (and returns one).
    """

    dataframe: bool = False


@dataclass(slots=True)
class SamplerTags:
    """Tags of a sampler, as imbalanced-learn defines them.

    Parameters
    ----------
    sample_indices : bool, default=False
        Whether the fitted sampler has ``sample_indices_``, the rows of ``X``
        that ``fit_resample`` returned.
    """

    sample_indices: bool = False


@dataclass(slots=True)
class ClassifierSamplerTags(Tags):
    """scikit-learn's tags plus imbalanced-learn's ``sampler_tags``."""

    sampler_tags: SamplerTags | None = None


def sampler_tags(tags, *, sample_indices):
    """Return ``tags`` extended with the sampler tags imbalanced-learn reads.

    Parameters
    ----------
    tags : sklearn.utils.Tags
        The estimator's tags from ``super().__sklearn_tags__()``.

    sample_indices : bool
        Whether the fitted estimator has ``sample_indices_``.

    Returns
    -------
    tags : ClassifierSamplerTags
        The same values, with ``input_tags.dataframe = True`` (every sampler
        keeps a DataFrame a DataFrame) and ``sampler_tags``.
    """
    inputs = {f.name: getattr(tags.input_tags, f.name) for f in fields(InputTags)}
    values = {f.name: getattr(tags, f.name) for f in fields(Tags)}
    values["input_tags"] = SamplerInputTags(**inputs, dataframe=True)
    return ClassifierSamplerTags(
        **values, sampler_tags=SamplerTags(sample_indices=sample_indices)
    )
