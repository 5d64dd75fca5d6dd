"""Reproduce the tutorial: ``python -m clogreg.demo [--epochs N] [--lr LR] [--seed S]``.

Trains setosa vs versicolor (two standardised features, 80/20 split) by full-batch
gradient descent on the summed log-loss from zero weights, prints the tutorial's line
per epoch, the weights, the bias and the validation accuracy. Uses the public API only.
"""
import argparse
import sys

import numpy as np

from clogreg import DEFAULT_SEED, LogisticRegression, load_tutorial_data


def main(argv=None):
    """Run the demo; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m clogreg.demo", description=__doc__)
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of the 80/20 split (default {DEFAULT_SEED})")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the data, the decision boundary and the loss curve "
                             "(needs matplotlib: pip install 'clogreg[plot]')")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if not args.lr > 0:
        parser.error("--lr must be positive")

    X_train, X_test, y_train, y_test = load_tutorial_data(random_state=args.seed)
    # The tutorial: no penalty, fixed step, every epoch run (tol=0), one line each.
    clf = LogisticRegression(C=np.inf, solver="gd", learning_rate=args.lr, max_iter=args.epochs,
                             tol=0.0, verbose=1)
    clf.fit(X_train, y_train)
    print(f"Weights \n {clf.coef_.ravel()}")
    print(f"Bias \n {clf.intercept_}")
    print(f"Validation Accuracy: {100.0 * clf.score(X_test, y_test):.4f}")

    if args.plot:
        try:
            _plot(clf, X_train, y_train, args.plot)
        except ImportError:
            print("--plot needs matplotlib: pip install 'clogreg[plot]'", file=sys.stderr)
            return 1
        print(f"Plot written to {args.plot}")
    return 0


def _plot(clf, X, y, path):
    """Two panels: the classes with the decision boundary, and the loss per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_data, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    for label, name, marker in ((0, "setosa", "o"), (1, "versicolor", "^")):
        rows = y == label
        ax_data.scatter(X[rows, 0], X[rows, 1], marker=marker, label=name)
    (w0, w1), b = clf.coef_.ravel(), clf.intercept_[0]
    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 2)
    if w1 != 0:  # boundary: w0 * x0 + w1 * x1 + b = 0
        ax_data.plot(xs, -(w0 * xs + b) / w1, "k--", label="decision boundary")
    ax_data.set(xlabel="sepal length (standardised)", ylabel="sepal width (standardised)",
                ylim=(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5))
    ax_data.legend()
    ax_loss.plot(clf.history_["loss"], marker=".")
    ax_loss.set(xlabel="epoch", ylabel="cost (summed log-loss)", yscale="log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
