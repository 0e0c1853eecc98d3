"""The demo month's groundwork: the census of every grid, this week's census round and its visits,
risk screening lists, key-person follow-up plans and patrols. Written through the API as the demo
people who would write it (the grid worker for the grid, the town centre for the town, else the
city centre), so every row has its history and every rule of the API holds."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from engine.clock import CHINA

from .plans import SURNAMES

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
FLAG_SETS = [["常住"], ["常住"], ["常住", "困难群体"], ["流动"], ["常住", "特殊人群"], ["常住", "重点人员"]]
ITEMS = [("house", "{v}{g}组{n}号民房", {"structure": "砖混", "floors": 2}),
         ("land", "{v}{g}组责任田", {"area_mu": 3.5, "use": "水稻"}),
         ("event", "{v}{g}组红白喜事登记", {"kind": "婚礼", "tables": 20}),
         ("thing", "{v}{g}组危旧水塘", {"risk": "汛期漫堤"}),
         ("organisation", "{v}种养专业合作社", {"members": 23})]
INDICATORS = [["离婚诉讼", "分居"], ["家暴"], ["财产纠纷"], ["酗酒滋事"], ["赡养矛盾"]]


def id_no(rng: random.Random, birth_year: int) -> str:
    """A resident ID number of 麻城 with a valid check digit (made up; never a real person's)."""
    body = f"421181{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


class Api:
    """The demo people signing in through the API, once each (the app's tokens outlive the month)."""

    def __init__(self, client, clock, password: str):
        self.client, self.clock, self.password = client, clock, password
        self.tokens: dict[str, dict[str, str]] = {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.client.post("/api/v1/auth/token", json={"username": username, "password": self.password})
            if answer.status_code != 200:
                raise RuntimeError(f"demo login {username}: {answer.status_code} {answer.get_json()}")
            self.tokens[username] = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        return self.tokens[username]

    def sign_out(self) -> None:
        """Revoke every token the seeding used."""
        for headers in self.tokens.values():
            answer = self.client.post("/api/v1/auth/logout", headers=headers)
            if answer.status_code >= 300:
                raise RuntimeError(f"demo sign-out: {answer.status_code} {answer.get_json()}")
        self.tokens.clear()

    def post(self, username: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.post(f"/api/v1/{path}", json=body, headers=self.headers(username))
        if answer.status_code >= 300:
            raise RuntimeError(f"demo {username} POST {path}: {answer.status_code} {answer.get_json()}")
        return answer.get_json()


class Groundwork:
    def __init__(self, api: Api, driver, rng: random.Random, until: datetime):
        self.api, self.driver, self.rng, self.until = api, driver, rng, until
        self.people: dict[str, list[dict]] = {}   # grid path -> census people
        self.items: dict[str, list[dict]] = {}

    def writer(self, roles: tuple[str, ...], path: str) -> str | None:
        """The nearest demo user above ``path`` holding one of ``roles``."""
        fitting = [(len(p), name) for code, p, name in self.driver.holders if code in roles and path.startswith(p)]
        return max(fitting)[1] if fitting else None

    def at(self, instant: datetime) -> None:
        self.driver.clock.set(min(instant, self.until - timedelta(minutes=1)))

    # -- census -------------------------------------------------------------------------------

    def census(self, grids: list, start: datetime) -> None:
        """Six people and five items in every grid, entered at the start of the month."""
        for index, grid in enumerate(grids):
            village = self.driver.units_by_path[grid.path.rsplit("/", 2)[0] + "/"].name
            who = self.writer(("grid_worker", "town_officer", "town_director", "city_director"), grid.path)
            self.at(start + timedelta(hours=index))
            people = []
            for flags in FLAG_SETS:
                name = self.rng.choice(SURNAMES) + self.rng.choice("建国秀英志强桂兰明华春梅德福玉珍")
                people.append(self.api.post(who, "census/people", {
                    "grid": grid.path, "name": name, "id_no": id_no(self.rng, self.rng.randint(1950, 2000)),
                    "phone": f"13{self.rng.randint(0, 9)}{self.rng.randint(10000000, 99999999)}",
                    "address": f"{village}{self.rng.randint(1, 9)}组{self.rng.randint(1, 40)}号", "flags": flags}))
            items = [self.api.post(who, "census/items", {
                "grid": grid.path, "kind": kind,
                "name": name.format(v=village, g=self.rng.randint(1, 9), n=self.rng.randint(1, 40)),
                "attributes": attributes}) for kind, name, attributes in ITEMS]
            self.people[grid.path], self.items[grid.path] = people, items

    def round(self, grids: list) -> None:
        """This week's round in every grid someone may run it, and the visits done so far."""
        today = self.until.astimezone(CHINA)
        monday = (today - timedelta(days=today.weekday())).replace(hour=8, minute=30, second=0, microsecond=0)
        for grid in grids:
            who = self.writer(("grid_worker", "town_officer", "town_director"), grid.path)
            if who is None:
                continue
            self.at(monday)
            made = self.api.post(who, "census/rounds", {"grid": grid.path, "week_start": monday.date().isoformat()})
            visitor = self.writer(("grid_worker",), grid.path)
            targets = [{"target_type": "person", "target_id": p["id"]} for p in self.people[grid.path]]
            day = monday
            while visitor and targets and day + timedelta(hours=7) < self.until:
                self.at(day + timedelta(hours=7))
                begin = day + timedelta(minutes=self.rng.randint(0, 60))
                self.api.post(visitor, "census/visits", {
                    "round_id": made["id"], "started_at": begin.isoformat(),
                    "ended_at": (begin + timedelta(hours=4, minutes=self.rng.randint(0, 50))).isoformat(),
                    "location": "、".join(sorted({p["address"][:5] for p in self.people[grid.path][:2]})),
                    "findings": "入户核实人口信息，无异常", "verified": targets[:2]})
                targets, day = targets[2:], day + timedelta(days=1)

    # -- prevention ---------------------------------------------------------------------------

    def prevention(self, villages: list, start: datetime) -> None:
        """A screening list in every village (one entry escalated to a case), a follow-up plan for
        each village's key person, and a patrol team with its logs."""
        period = self.until.astimezone(CHINA).strftime("%Y-%m")
        for index, village in enumerate(villages):
            who = self.writer(("village_mediator", "town_officer", "town_director", "city_director"), village.path)
            self.at(start + timedelta(days=2, hours=index))
            made = self.api.post(who, "prevention/screening-lists", {
                "area": village.path, "title": f"{period} {village.name}婚姻家庭风险联合排查", "period": period,
                "screeners": ["妇联", "派出所", "村调委会"]})
            people = [p for grid, ps in self.people.items() if grid.startswith(village.path) for p in ps]
            entries = [self.api.post(who, f"prevention/screening-lists/{made['id']}/entries", {
                "person_id": p["id"], "indicators": self.rng.choice(INDICATORS),
                "risk_level": self.rng.choice(("green", "yellow", "yellow", "orange")),
                "status": self.rng.choice(("open", "watch"))}) for p in people[:3]]
            self.at(start + timedelta(days=4, hours=index))
            self.api.post(who, f"prevention/screening-entries/{entries[-1]['id']}/escalate",
                          {"summary": "排查发现夫妻矛盾激化，转为纠纷案件"})
            key = next((p for p in people if "重点人员" in p["flags"]), None)
            if key is not None:
                self.api.post(who, "prevention/followup-plans", {
                    "person_id": key["id"], "interval_days": 7, "responsible_unit": f"{village.name}调委会",
                    "responsible_user": self.writer(("grid_worker",), key["grid_path"]),
                    "reason": "曾因土地纠纷多次越级上访"})
            self.patrols(village, who, start)

    def patrols(self, village, who: str, start: datetime) -> None:
        team = self.api.post(who, "prevention/patrol-teams", {
            "area": village.path, "name": f"{village.name}治安巡逻队",
            "members": [{"name": self.rng.choice(SURNAMES) + "队长"}, {"name": self.rng.choice(SURNAMES) + "队员"}]})
        day = (start + timedelta(days=1)).astimezone(CHINA).replace(hour=19, minute=0, second=0, microsecond=0)
        while day + timedelta(hours=3) < self.until:
            self.at(day + timedelta(hours=3))
            self.api.post(who, "prevention/patrol-logs", {
                "team_id": team["id"], "started_at": day.isoformat(),
                "ended_at": (day + timedelta(hours=2, minutes=self.rng.choice((0, 15, 30, 45)))).isoformat(),
                "route": f"{village.name}村委会—河堤—小学", "findings": self.rng.choice(("无异常", "路灯损坏一处", "河堤护栏松动"))})
            day += timedelta(days=self.rng.choice((2, 3, 4)))
