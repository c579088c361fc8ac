"""Exercise 4's parameters: a classifier's predictions for one example over the epochs.

Every range contains the shared variant (the exercise as written before variants existed);
``tests/variants/test_ex4.py`` checks, over many keys and over every row the ranges allow,
every property the notebook's text and written task rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from dlmath.variants.derive import SHARED, check_key, draw
from dlmath.variants.text import number_text, numbers_text

EX4 = "ex4_entropy_over_epochs"
EX4_CLASSES = 5
# The epochs the four predictions are taken at: increasing, spread out on the plot's log axis.
EX4_EPOCHS = ((1, 10, 50, 100), (1, 5, 20, 100), (1, 10, 30, 100), (1, 5, 25, 50),
              (1, 10, 40, 200), (2, 10, 50, 150))


def _rows(wrong: range, true: tuple[int, int]) -> tuple[tuple[int, ...], ...]:
    """The admissible probabilities (in hundredths) of the four wrong classes at one epoch: each
    in ``wrong``, and the true class's, 100 minus their sum, within ``true`` (inclusive)."""
    return tuple(row for row in product(wrong, repeat=EX4_CLASSES - 1)
                 if true[0] <= 100 - sum(row) <= true[1])


# Per epoch, the wrong classes' probabilities in hundredths (two decimals, never 0, so every
# log is finite). The true class's ranges are disjoint and increasing (0.26-0.34, 0.45-0.55,
# 0.76-0.84, 0.93-0.96) and so are the entropies the rows can have (1.55-1.60 nats, close to
# log 5 = 1.609, then 1.30-1.45, 0.65-0.88 and 0.22-0.35): the prediction sharpens on the true
# class at every epoch, for every student. The true class is always the most probable one.
EX4_ROWS = (_rows(range(15, 21), (26, 34)), _rows(range(10, 16), (45, 55)),
            _rows(range(3, 8), (76, 84)), _rows(range(1, 3), (93, 96)))


@dataclass(frozen=True)
class PredictionsProblem:
    """Exercise 4: a model's predictions for one example of class ``true_class``.

    ``predictions[i]`` is the probability vector over the 5 classes at epoch ``epochs[i]``
    (each entry a positive multiple of 0.01, each row summing to 1); ``epochs`` increase.
    """

    true_class: int
    epochs: tuple[int, ...]
    predictions: tuple[tuple[float, ...], ...]

    @property
    def true_label(self) -> tuple[int, ...]:
        """The one-hot label of ``true_class`` (``TRUE_LABEL`` in the notebook)."""
        return tuple(int(i == self.true_class) for i in range(EX4_CLASSES))

    @property
    def confidence(self) -> tuple[float, ...]:
        """The predicted probability of the true class, per epoch."""
        return tuple(row[self.true_class] for row in self.predictions)

    def expected(self) -> dict[str, np.ndarray]:
        """What ``training_curves(TRUE_LABEL, PREDICTIONS)`` returns, per epoch, in nats: the
        entropy of each prediction, and the cross-entropy and KL divergence of the one-hot
        label against it (both -log q_true, since the label's entropy is 0)."""
        predictions = np.array(self.predictions)
        loss = -np.log(np.array(self.confidence))
        return {"entropy": -np.sum(predictions * np.log(predictions), axis=1),
                "cross_entropy": loss, "kl": loss.copy()}

    def groups(self) -> dict[str, str]:
        """The parameters drawn independently, by value: the item analysis compares the pass
        rates of students who share one (a harder range shows up as a lower rate)."""
        return {"true class": str(self.true_class), "epochs": numbers_text(self.epochs),
                "q_true at the first epoch": number_text(self.confidence[0])}

    def numbers(self) -> list[tuple[str, str]]:
        """The student's numbers, as (name, value) lines for ``dlmath variants show``."""
        return [("true class (TRUE_LABEL)", f"{self.true_class} ({numbers_text(self.true_label)})"),
                ("EPOCHS", numbers_text(self.epochs)),
                *((f"PREDICTIONS at epoch {epoch}", numbers_text(row))
                  for epoch, row in zip(self.epochs, self.predictions, strict=True)),
                ("log 5 (the largest entropy)", number_text(round(np.log(EX4_CLASSES), 3)))]

    def results_table(self) -> tuple[list[str], list[list[object]]]:
        """``expected()`` as a table, in nats to 3 decimals: one row per epoch."""
        expected = self.expected()
        header = ["epoch", "q_true", *expected]
        return header, [[epoch, q, *(round(float(column[i]), 3) for column in expected.values())]
                        for i, (epoch, q) in enumerate(zip(self.epochs, self.confidence,
                                                           strict=True))]

    def _repr_markdown_(self) -> str:
        header = " | ".join(f"class {i}" for i in range(EX4_CLASSES))
        rows = "\n".join(
            f"| {epoch} | "
            + " | ".join(f"**{q:.2f}**" if i == self.true_class else f"{q:.2f}"
                         for i, q in enumerate(row)) + " |"
            for epoch, row in zip(self.epochs, self.predictions, strict=True))
        return (f"**Your numbers.** One example of class {self.true_class} (`TRUE_LABEL` = "
                f"$e_{self.true_class}$); the model's predicted probabilities (`PREDICTIONS`, "
                f"one row per epoch of `EPOCHS`, the true class in bold):\n\n"
                f"| epoch | {header} |\n|---|{'---|' * EX4_CLASSES}\n{rows}")


def _prediction(true_class: int, wrong: tuple[int, ...]) -> tuple[float, ...]:
    """A probability vector from the wrong classes' hundredths: the true class gets the rest."""
    hundredths = [*wrong]
    hundredths.insert(true_class, 100 - sum(wrong))
    return tuple(h / 100 for h in hundredths)


def ex4_parameters(key: str) -> PredictionsProblem:
    """Exercise 4's numbers for ``key`` (the shared variant: class 0 at epochs 1, 10, 50, 100,
    with probabilities 0.30, 0.50, 0.80 and 0.95 of class 0)."""
    if check_key(key) == SHARED:
        rows = ((20, 20, 15, 15), (15, 15, 10, 10), (7, 7, 3, 3), (2, 1, 1, 1))
        return PredictionsProblem(0, EX4_EPOCHS[0], tuple(_prediction(0, row) for row in rows))
    true_class = draw(key, EX4, "true class", range(EX4_CLASSES))
    return PredictionsProblem(
        true_class=true_class,
        epochs=draw(key, EX4, "epochs", EX4_EPOCHS),
        predictions=tuple(_prediction(true_class, draw(key, EX4, f"row {i}", options))
                          for i, options in enumerate(EX4_ROWS)))
