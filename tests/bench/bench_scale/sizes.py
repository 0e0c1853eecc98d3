"""How big the generated city is: the full city of issue #19 times ``--scale``, never smaller than
the demo organisation (2 towns, 4 villages, 8 grids) so every bundled lane still finds a person."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from api.people.seed import DEMO_USERS

FULL = {"towns": 20, "villages": 500, "grids": 3000, "users": 12000, "people": 1_000_000,
        "households": 350_000, "parcels": 500_000, "cases": 100_000, "years": 10}
MINIMUM = {"towns": 2, "villages": 4, "grids": 8, "users": len(DEMO_USERS)}


@dataclass(frozen=True)
class Sizes:
    scale: float
    towns: int
    villages: int
    grids: int
    users: int
    people: int
    households: int       # and as many houses
    parcels: int
    cases: int            # disputes and leads, each a real case of the engine
    years: int

    @classmethod
    def of(cls, scale: float) -> "Sizes":
        if not 0 < scale <= 1:
            raise ValueError("--scale is a fraction of the full city: 0 < scale <= 1")
        values = {k: max(MINIMUM.get(k, 1), round(v * scale)) for k, v in FULL.items() if k != "years"}
        # A town needs villages, a village grids: keep the tree's ratios when the scale is tiny.
        values["villages"] = max(values["villages"], values["towns"] * 2)
        values["grids"] = max(values["grids"], values["villages"] * 2)
        return cls(scale=scale, years=FULL["years"], **values)

    def as_dict(self) -> dict:
        return asdict(self)
