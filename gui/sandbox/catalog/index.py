"""Full-text search over the sandbox's catalogue: an inverted index with field weights.

A query's words must all match (the last one as a prefix, since people search as they type); if
no product has them all, the products matching most of them come back. Ranking: how many words
matched, then a score that weighs where each word was found (title above publisher and offer
above plans above summary above description), counts rare words more (inverse document
frequency) and adds a bonus where two query words stand side by side in the product ("sql 2022"
in "SQL 2022 Enterprise" beats "SQL Server 2019 on Windows Server 2022"), and more popular
products (the well-known publishers') weigh more. A product's plans are
ordered the same way, best match first, so "ubuntu 24.04 arm64" puts the Arm64 plan on top.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from gui.sandbox.seed.catalog import CatalogPlan, CatalogProduct

_WORD = re.compile(r"[a-z0-9]+")
_PREFIX_FACTOR = 0.8  # a word completed from its prefix counts a little less than a whole one
_BIGRAM_BONUS = 2.0

_W_TITLE, _W_PUBLISHER, _W_OFFER, _W_PLAN, _W_SUMMARY, _W_KEYWORD, _W_DESCRIPTION = (
    4.0, 3.0, 3.0, 2.5, 2.0, 2.0, 1.0,
)  # fmt: skip

Bigram = tuple[str, str]


@lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def words(text: str) -> tuple[str, ...]:
    # Cached: plan names and summaries repeat across thousands of products.
    return _words(text)


def _bigrams(sequence: Sequence[str]) -> set[Bigram]:
    return set(itertools.pairwise(sequence))


def _plan_text(plan: CatalogPlan) -> list[str]:
    extra = [plan.architecture, plan.generation, *plan.security_types, *plan.pricing]
    if "Trusted" in plan.security_types:
        extra.append("trusted launch")
    return [plan.plan_id, plan.display_name, plan.summary, plan.os_value, *extra]


@dataclass(frozen=True)
class _Doc:
    product: CatalogProduct
    weights: dict[str, float]  # word -> the weight of the best field it appears in


@dataclass(frozen=True)
class _Detail:
    """What only ranking a hit needs, made for hits alone (building it for every product would
    double the index's start-up)."""

    bigrams: frozenset[Bigram]
    plan_words: tuple[frozenset[str], ...]
    plan_bigrams: tuple[frozenset[Bigram], ...]


def _fields(product: CatalogProduct) -> list[tuple[float, str]]:
    # The description is made of the title, summary and plan names, all indexed here with more
    # weight, so it adds no word of its own.
    keywords = [product.product_type, *product.operating_systems, *product.pricing]
    fields: list[tuple[float, str]] = [
        (
            _W_TITLE / (1 + 0.05 * max(0, len(words(product.display_name)) - 2)),
            product.display_name,
        ),
        (_W_PUBLISHER, f"{product.publisher_display_name} {product.publisher_id}"),
        (_W_OFFER, product.offer_id),
        (_W_SUMMARY, product.summary),
        (_W_KEYWORD, " ".join(keywords)),
    ]
    fields += [(_W_PLAN, text) for plan in product.plans for text in _plan_text(plan)]
    return fields


def _doc(product: CatalogProduct) -> _Doc:
    weights: dict[str, float] = {}
    for weight, text in _fields(product):
        for word in words(text):
            if weights.get(word, 0.0) < weight:
                weights[word] = weight
    return _Doc(product, weights)


def _detail(product: CatalogProduct) -> _Detail:
    bigrams: set[Bigram] = set()
    for _, text in _fields(product):
        bigrams |= _bigrams(words(text))
    plan_sequences = [words(" ".join(_plan_text(plan))) for plan in product.plans]
    return _Detail(
        bigrams=frozenset(bigrams),
        plan_words=tuple(frozenset(s) for s in plan_sequences),
        plan_bigrams=tuple(frozenset(_bigrams(s)) for s in plan_sequences),
    )


@dataclass(frozen=True)
class Hit:
    product: CatalogProduct
    matched: int  # how many query words it matched
    score: float
    plans: tuple[CatalogPlan, ...]  # best-matching first


class CatalogIndex:
    def __init__(self, products: Iterable[CatalogProduct]) -> None:
        self._docs = [_doc(p) for p in products]
        self._postings: dict[str, list[int]] = {}
        for number, doc in enumerate(self._docs):
            for word in doc.weights:
                self._postings.setdefault(word, []).append(number)
        self._vocabulary = sorted(self._postings)
        self._by_id = {doc.product.unique_id.lower(): doc.product for doc in self._docs}
        # Made once per product, the first time it is a hit (a dict: hashing a whole product
        # for a cache key would cost more than the detail).
        self._details: dict[int, _Detail] = {}

    @property
    def products(self) -> list[CatalogProduct]:
        return [doc.product for doc in self._docs]

    def product(self, unique_id: str) -> CatalogProduct | None:
        return self._by_id.get(unique_id.lower())

    def _idf(self, word: str) -> float:
        return math.log(1 + len(self._docs) / (len(self._postings.get(word, ())) or 1))

    def _expansions(self, word: str, last: bool) -> dict[str, float]:
        """The index words a query word stands for, with their factor (1 for the word itself)."""
        found = {word: 1.0} if word in self._postings else {}
        if last:
            start = bisect.bisect_left(self._vocabulary, word)
            for candidate in self._vocabulary[start:]:
                if not candidate.startswith(word):
                    break
                found.setdefault(candidate, _PREFIX_FACTOR)
        return found

    def search(self, query: str) -> list[Hit]:
        """Products matching ``query``, best first; every product for an empty query."""
        query_words = list(words(query))
        if not query_words:
            return [Hit(doc.product, 0, 0.0, doc.product.plans) for doc in self._docs]
        expansions = [
            self._expansions(word, i == len(query_words) - 1) for i, word in enumerate(query_words)
        ]
        matched: dict[int, int] = {}
        for found in expansions:
            numbers: set[int] = set()
            for word in found:
                numbers.update(self._postings[word])
            for number in numbers:
                matched[number] = matched.get(number, 0) + 1
        if not matched:
            return []
        best = max(matched.values())
        hits = [
            self._hit(n, query_words, expansions, count)
            for n, count in matched.items()
            if count == best or best < len(query_words)
        ]
        hits.sort(key=lambda h: (-h.matched, -h.score, -h.product.popularity,
                                 h.product.display_name.lower()))  # fmt: skip
        return hits

    def _hit(
        self,
        number: int,
        query_words: Sequence[str],
        expansions: list[dict[str, float]],
        count: int,
    ) -> Hit:
        doc = self._docs[number]
        detail = self._details.get(number)
        if detail is None:
            detail = self._details[number] = _detail(doc.product)
        score = 0.0
        for found in expansions:
            score += max(
                (self._idf(w) * factor * doc.weights[w] for w, factor in found.items()
                 if w in doc.weights),
                default=0.0,
            )  # fmt: skip
        for pair in _bigrams(query_words):
            if pair in detail.bigrams:
                score += _BIGRAM_BONUS * (self._idf(pair[0]) + self._idf(pair[1])) / 2
        plans = self._plans(doc.product, detail, query_words, expansions)
        # Popular products first among equal matches, as the portal's search ranks them.
        return Hit(doc.product, count, score * (1 + doc.product.popularity), plans)

    def _plans(
        self,
        product: CatalogProduct,
        detail: _Detail,
        query_words: Sequence[str],
        expansions: list[dict[str, float]],
    ) -> tuple[CatalogPlan, ...]:
        def plan_score(index: int) -> float:
            plan_words = detail.plan_words[index]
            score = sum(
                max((self._idf(w) * f for w, f in found.items() if w in plan_words), default=0.0)
                for found in expansions
            )
            pairs = _bigrams(query_words) & detail.plan_bigrams[index]
            return score + sum(_BIGRAM_BONUS * self._idf(b) for _, b in pairs)

        scores = [plan_score(i) for i in range(len(product.plans))]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], product.plans[i].rank))
        return tuple(product.plans[i] for i in order)
