"""
===============================================
Detecting noisy labels on a two-dimensional toy
===============================================

Flip a quarter of the labels of the two-moons problem, then ask which
training samples are mislabeled. Two detection scores are compared with
:func:`sknoisy.metrics.noise_detection_auc`:

- the **training loss** of each sample's given label under a model fitted to
  the noisy labels (the "small-loss" criterion used by many methods);
- **RDIA's influence** φ from :class:`~sknoisy.RDIARelabeler`: how much the
  sample raises the loss of a small *clean* validation set.

RDIA relabels the samples with φ above its threshold ``alpha``;
:func:`sknoisy.metrics.noise_detection_scores` measures that selection.
"""

# %%
# A noisy two-moons problem
# -------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sknoisy import RDIARelabeler
from sknoisy.metrics import noise_detection_auc, noise_detection_scores
from sknoisy.noise import make_label_noise

X, y = make_moons(n_samples=500, noise=0.25, random_state=0)
X_train, y_train = X[:400], y[:400]
X_val, y_val = X[400:], y[400:]  # 100 clean validation samples
y_noisy = make_label_noise(y_train, 0.25, random_state=0)
mislabeled = y_noisy != y_train

# %%
# RDIA on a cubic logistic regression
# -----------------------------------
# The influence is taken for the last step of the pipeline, with the
# polynomial features held fixed.
model = make_pipeline(
    PolynomialFeatures(degree=3),
    StandardScaler(),
    LogisticRegression(C=1.0, max_iter=1000),
)
rdia = RDIARelabeler(model, random_state=0)
rdia.fit(X_train, y_noisy, X_val=X_val, y_val=y_val)

proba = rdia.initial_estimator_.predict_proba(X_train)
training_loss = -np.log(proba[np.arange(len(y_noisy)), y_noisy])
scores = {"training loss": training_loss, "RDIA influence φ": rdia.influence_}
for name, score in scores.items():
    auc = noise_detection_auc(y_train, y_noisy, score)
    print(f"{name:>18}: detection AUC {auc:.3f}")

selection = noise_detection_scores(y_train, y_noisy, rdia.relabeled_mask_)
print(
    f"RDIA relabeled {selection['n_flagged']} samples: precision "
    f"{selection['precision']:.2f}, recall {selection['recall']:.2f}"
)

# %%
# What RDIA flags, and how well each score ranks
# ----------------------------------------------
# Left: the noisy training labels, the mislabeled samples circled and the
# samples RDIA relabeled crossed; the background is the model refitted on
# RDIA's labels. Right: ROC curves of the two detection scores.
fig, (ax_data, ax_roc) = plt.subplots(1, 2, figsize=(10, 4.2))
DecisionBoundaryDisplay.from_estimator(
    rdia, X, response_method="predict_proba", cmap="RdBu", alpha=0.3, ax=ax_data
)
ax_data.scatter(*X_train.T, c=y_noisy, cmap="RdBu", s=12, edgecolors="none")
ax_data.scatter(
    *X_train[mislabeled].T,
    s=60,
    facecolors="none",
    edgecolors="black",
    lw=0.8,
    label="mislabeled",
)
ax_data.scatter(
    *X_train[rdia.relabeled_mask_].T,
    marker="x",
    s=24,
    color="darkorange",
    label="relabeled by RDIA",
)
ax_data.set_title("Noisy labels and RDIA's relabels")
ax_data.legend(loc="lower left", fontsize="small")

for name, score in scores.items():
    false_positive, true_positive, _ = roc_curve(mislabeled, score)
    auc = noise_detection_auc(y_train, y_noisy, score)
    ax_roc.plot(false_positive, true_positive, label=f"{name} (AUC {auc:.2f})")
ax_roc.plot([0, 1], [0, 1], color="gray", lw=1, ls="--")
ax_roc.set_xlabel("false positive rate")
ax_roc.set_ylabel("true positive rate")
ax_roc.set_title("Detecting the mislabeled samples")
ax_roc.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %%
# On this easy, low-dimensional problem the small-loss criterion ranks the
# mislabeled samples about as well as RDIA's influence does. The influence
# differs in what it measures: harm to the loss of trusted labels, which
# also tells RDIA which samples to relabel and when to stop (``alpha``),
# without an estimate of the noise rate.
