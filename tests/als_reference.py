"""Plain per-row loop ALS: the slow, obvious oracle the vectorised kernels must match.

Every row's normal equations are written out with an explicit Python loop over rows, using
dense NumPy only; nothing here is shared with the package's kernels.
"""

from __future__ import annotations

import numpy as np


def half_step(rows, n_rows, other_factors, reg, reg_bias, scale_reg):
    """Each row's ``[b_u, U_u]`` minimising its ridge problem given the other side.

    ``rows`` maps a row index to ``(columns, targets)``; rows absent or empty get zeros.
    Penalty ``diag(λ_b, c λ, …, c λ)`` with ``c = |Ω_u|`` when ``scale_reg``.
    """
    n_factors = other_factors.shape[1]
    bias = np.zeros(n_rows)
    factors = np.zeros((n_rows, n_factors))
    for row in range(n_rows):
        columns, targets = rows.get(row, ((), ()))
        if len(columns) == 0:
            continue
        design = np.column_stack([np.ones(len(columns)), other_factors[list(columns)]])
        scale = len(columns) if scale_reg else 1.0
        penalty = np.diag([reg_bias] + [reg * scale] * n_factors)
        solution = np.linalg.solve(design.T @ design + penalty, design.T @ np.asarray(targets))
        bias[row], factors[row] = solution[0], solution[1:]
    return bias, factors


def fit(
    user_index,
    item_index,
    ratings,
    n_users,
    n_items,
    initial_item_factors,
    *,
    reg,
    reg_bias,
    scale_reg,
    n_iter,
):
    """Full biased ALS from given initial movie vectors (biases start at 0).

    Returns ``(mu, user_bias, item_bias, user_factors, item_factors, objectives)``.
    """
    mu = float(np.mean(ratings))
    item_bias = np.zeros(n_items)
    item_factors = np.array(initial_item_factors, dtype=np.float64)
    user_bias = np.zeros(n_users)
    user_factors = np.zeros((n_users, item_factors.shape[1]))
    objectives = []
    for _ in range(n_iter):
        by_user = {}
        for u, i, r in zip(user_index, item_index, ratings, strict=True):
            columns, targets = by_user.setdefault(u, ([], []))
            columns.append(i)
            targets.append(r - mu - item_bias[i])
        user_bias, user_factors = half_step(
            by_user, n_users, item_factors, reg, reg_bias, scale_reg
        )
        by_item = {}
        for u, i, r in zip(user_index, item_index, ratings, strict=True):
            columns, targets = by_item.setdefault(i, ([], []))
            columns.append(u)
            targets.append(r - mu - user_bias[u])
        item_bias, item_factors = half_step(
            by_item, n_items, user_factors, reg, reg_bias, scale_reg
        )
        objectives.append(
            objective(
                user_index,
                item_index,
                ratings,
                mu,
                user_bias,
                item_bias,
                user_factors,
                item_factors,
                reg=reg,
                reg_bias=reg_bias,
                scale_reg=scale_reg,
            )
        )
    return mu, user_bias, item_bias, user_factors, item_factors, objectives


def objective(
    user_index,
    item_index,
    ratings,
    mu,
    user_bias,
    item_bias,
    user_factors,
    item_factors,
    *,
    reg,
    reg_bias,
    scale_reg,
):
    """``J`` summed rating by rating and row by row."""
    total = 0.0
    for u, i, r in zip(user_index, item_index, ratings, strict=True):
        total += (r - mu - user_bias[u] - item_bias[i] - user_factors[u] @ item_factors[i]) ** 2
    user_counts = np.bincount(user_index, minlength=len(user_bias))
    item_counts = np.bincount(item_index, minlength=len(item_bias))
    for bias, factors, counts in (
        (user_bias, user_factors, user_counts),
        (item_bias, item_factors, item_counts),
    ):
        for row in range(len(bias)):
            scale = counts[row] if scale_reg else 1.0
            total += reg * scale * factors[row] @ factors[row] + reg_bias * bias[row] ** 2
    return total
