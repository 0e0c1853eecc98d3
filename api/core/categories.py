"""The catalogue of dispute categories (workflows/categories.json): one list of names, each with
the other words people and outside systems use for it. Forms offer the names (``x-options`` source
``categories``), intake maps an outside word to a name, statistics group by the names."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


class Categories:
    def __init__(self, entries: list[dict]) -> None:
        self.names: list[str] = [entry["name"] for entry in entries]
        self._by_word: dict[str, str] = {}
        self.spellings: dict[str, list[str]] = {
            entry["name"]: [entry["name"], *entry.get("synonyms", [])] for entry in entries}
        for entry in entries:
            for word in [entry["name"], *entry.get("synonyms", [])]:
                self._by_word.setdefault(_key(word), entry["name"])

    @classmethod
    def load(cls, workflows_dir: Path) -> "Categories":
        return _load(str(workflows_dir / "categories.json"))

    def canonical(self, word: str | None) -> str | None:
        """The catalogue's name for a word (a name or a synonym), or None when it names none."""
        return self._by_word.get(_key(word or ""))


def current() -> Categories:
    """The catalogue of the running application's workflows folder."""
    from .services import services
    return Categories.load(services().settings.workflows_dir)


def _key(word: str) -> str:
    return "".join(str(word).split()).lower()


@lru_cache(maxsize=4)
def _load(path: str) -> Categories:
    with open(path, encoding="utf-8") as handle:
        return Categories(json.load(handle)["categories"])
