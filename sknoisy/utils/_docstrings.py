"""Docstring texts shared by several public functions or estimators."""


class Substitution:
    """Fill the ``%(name)s`` fields of a docstring with shared texts.

    As imbalanced-learn's and pandas' decorator of the same name: a parameter
    described alike in several places is written once, and the places cannot
    drift apart.

    Parameters
    ----------
    **texts : str
        The text of each field, indented as the docstring it goes into.
    """

    def __init__(self, **texts):
        self.texts = texts

    def __call__(self, obj):
        if obj.__doc__:
            obj.__doc__ = obj.__doc__ % self.texts
        return obj
