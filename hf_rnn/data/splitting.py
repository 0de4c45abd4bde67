"""Seeded, stratified splits that keep identical texts together (no text is both trained on and evaluated)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable, Sequence


def stratified_split(
    texts: Sequence[str], labels: Sequence[Hashable], fractions: Sequence[float], seed: int
) -> list[list[int]]:
    """
    Split row indices into `len(fractions)` parts, stratified by label, keeping identical texts in the same part.

    Identical texts (the TREC training file repeats about 70 questions) are grouped, by their lowercased words, so that
    no text can be both trained on and evaluated. Within each label the groups are shuffled with `seed` and cut at the
    cumulative fractions. A group takes the label of its first row.

    Args:
        texts (`Sequence[str]`): The texts.
        labels (`Sequence[Hashable]`): One sortable label per text: a class id, or a tuple of ids for multi-label rows.
        fractions (`Sequence[float]`): Shares of the parts, summing to 1.
        seed (`int`): Seed of the shuffles.

    Returns:
        `list[list[int]]`: One sorted list of row indices per fraction.
    """
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {list(fractions)}.")
    groups: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(texts):
        groups[" ".join(text.lower().split())].append(index)
    groups_by_label: dict[Hashable, list[list[int]]] = defaultdict(list)
    for members in groups.values():
        groups_by_label[labels[members[0]]].append(members)
    rng = random.Random(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    for label in sorted(groups_by_label):
        label_groups = groups_by_label[label]
        rng.shuffle(label_groups)
        total = len(label_groups)
        bounds, cumulative = [], 0.0
        for fraction in fractions:
            cumulative += fraction
            bounds.append(round(cumulative * total))
        start = 0
        for part, end in zip(parts, bounds):
            for members in label_groups[start:end]:
                part.extend(members)
            start = end
    return [sorted(part) for part in parts]
