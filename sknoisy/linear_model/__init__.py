"""Linear classifiers used as base models of the noisy-label methods."""

from ._softmax import SoftmaxRegression

__all__ = ["SoftmaxRegression"]
