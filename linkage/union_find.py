"""One union-find (disjoint sets with path halving), for clustering and matching."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

Node = TypeVar("Node", bound=Hashable)


class UnionFind(Generic[Node]):
    """Disjoint sets of hashable nodes; a node is added the first time it is seen."""

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}

    def find(self, node: Node) -> Node:
        """Return the representative of ``node``'s set."""
        parent = self.parent
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: Node, b: Node) -> Node:
        """Join the sets of ``a`` and ``b``; return the representative of the joined set (that
        of ``a``)."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[root_b] = root_a
        return root_a
