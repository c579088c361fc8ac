"""Builds the paths with 10 steps instead of 100.

kind: mistake
loses: test_paths
"""
paths = {lr: gradient_descent(grad_f, X0, lr, 10) for lr in LEARNING_RATES}
