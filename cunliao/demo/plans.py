"""What the demo month's cases are about and where each one stands at the end of the month: every
state a case can be in, in both towns. Drawn from a seeded random generator, so one seed gives one
demo."""
from __future__ import annotations

import random
from datetime import timedelta

from .cases import Plan

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
# category (intake form), subject, what happened
MATTERS = [
    ("邻里", "排水沟", "两户因排水沟堵塞互相指责，雨天污水漫入院内。"),
    ("邻里", "噪音", "楼上住户夜间装修，楼下多次交涉未果。"),
    ("房屋宅基地", "宅基地界址", "两户对宅基地界址各执一词，新建围墙越界约半米。"),
    ("合同", "农机租赁", "租用收割机后拖欠租金，双方对作业亩数有争议。"),
    ("损害赔偿", "耕牛踩踏", "耕牛走失踩坏邻户秧田，就赔偿数额协商不成。"),
    ("婚姻家庭", "赡养", "兄弟三人对老人赡养费分摊意见不一。"),
    ("生产经营", "鱼塘承包", "鱼塘承包到期后对补偿款发生争执。"),
    ("道路交通事故", "电动车刮擦", "电动车与三轮车刮擦，对维修费用协商不成。"),
]
QUICK = [("邻里", "两户因柴堆占道争吵"), ("债务", "邻居借款三千元到期未还"), ("山林土地", "田埂边界被翻耕")]
# 五小 and calm, but 3,000 yuan: the rules grade it yellow, so the town triages it (risk, scope, route)
SMALL = {"wuxiao": True, "involved_count": 2, "amount": 3000, "risk_flags": ["无"], "emergency": False}
# green (五小, no money, no risk flag): village first, 小事不出村 (docs/processes/dispute_intake.md)
GREEN = {"amount": 0}
RED = {"category": "婚姻家庭", "summary": "丈夫酒后多次殴打妻子，妻子娘家人扬言报复。", "wuxiao": False,
       "involved_count": 3, "amount": 0, "risk_flags": ["家暴", "民转刑"], "emergency": False, "paths": ["法治教育"]}
# whistled to 民政局 (救助帮扶): the departments left to the responsibility list (lead_dept, co_depts empty)
GROUP = {"category": "劳动争议", "summary": "十余名务工人员被拖欠工资，其中多户生活困难，聚集讨薪。",
         "issue": "务工人员欠薪，多户生活困难需临时救助", "lead_dept": None, "co_depts": None, "wuxiao": False,
         "involved_count": 12, "amount": 80000, "risk_flags": ["群体性"], "emergency": False}
SATISFIED = {"satisfaction": "满意", "performed": True, "performance_ok": True, "recurrence": False}
AGREED = {"session_outcome": "达成协议", "wants_judicial_confirmation": False, "accepted": True, "outcome": "达成协议",
          "assessment": "已化解", **SATISFIED}
TOWN_FIRST = {"route_override": True, "owner_level_override": "town", "multi_department_override": False,
              "route_override_reason": "涉及多户，镇综治中心首调"}

# (kind, days before the end it starts, process, extra answers, stop_at, steps, then)
STATES = [
    ("registered", 0.3, "dispute_intake", {}, (), 0, None),
    ("noticed", 1, "dispute_intake", {}, ("classify",), None, None),
    ("routing", 2, "dispute_intake", {}, ("route_confirm",), None, None),
    ("village_accept", 2, "dispute_intake", {}, ("accept_village",), None, None),
    ("investigating", 6, "dispute_intake", {}, ("investigate",), None, None),
    ("session", 8, "dispute_intake", {}, ("session",), None, None),
    ("town_accept", 3, "dispute_intake", TOWN_FIRST, ("accept_town",), None, None),
    ("whistled", 5, "dispute_intake", {**GROUP, "issue_type": "救助帮扶"}, ("ack",), None, None),
    ("dept_report", 8, "dispute_intake", {**GROUP, "issue_type": "救助帮扶", "ack_decision": "应哨"}, ("report",),
     None, None),
    ("leader", 7, "dispute_intake", RED, ("a_work",), None, None),
    ("revisit", 16, "dispute_intake", AGREED, ("revisit",), None, None),
    ("resolved", 27, "dispute_intake", AGREED, (), None, None),
    ("resolved", 24, "dispute_intake", AGREED, (), None, None),
    ("guided", 20, "dispute_intake", {"willing": False, "refusing_party": "被申请人", "handoff_route": "court",
                                      "court_case_no": "(2026)鄂1181民初210号", **SATISFIED}, (), None, None),
    ("merged", 12, "dispute_intake", {"duplicate_of": "-"}, (), None, None),
    ("cancelled", 10, "dispute_intake", {}, ("session",), None, "cancel"),
    ("suspended", 9, "dispute_intake", {}, ("session",), None, "suspend"),
    ("quick_open", 1.5, "quick_mediation", {}, ("mediate", "on_spot"), None, None),
    ("quick_done", 22, "quick_mediation", AGREED, (), None, None),
    # village first: registered in the village by its mediator, or by the grid worker, and settled there
    ("village_registered", 19, "dispute_intake", {**GREEN, **AGREED, "channel": "walk_in"}, (), None, None),
    ("village_settled", 17, "dispute_intake", {**GREEN, **AGREED}, (), None, None),
    ("village_mediating", 3, "dispute_intake", GREEN, ("session",), None, None),
]
# kinds the village mediator registers (a walk-in at the 村调委会), in the grid's village
BY_VILLAGE = ("village_registered",)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(("某", "某某", "某甲", "某乙"))


def plans(rng: random.Random, grids: dict[str, list[tuple[str, str]]], town_names: dict[str, str]):
    """(days before the end, Plan) for both towns; ``grids``: town code -> [(grid code, village name)]."""
    out = []
    for town, town_grids in sorted(grids.items()):
        for index, (kind, days, process, answers, stop_at, steps, then) in enumerate(STATES):
            grid, village = town_grids[index % len(town_grids)]
            a, b = person(rng), person(rng)
            if process == "quick_mediation":
                category, what = rng.choice(QUICK)
                title = f"{a}与{b}{what}"
                extra = {"summary": what, "category": category, "party_count": 2, "amount": 0,
                         "escalation_signs": False, "location": f"{village}{rng.randint(1, 9)}组"}
            else:
                category, subject, what = rng.choice(MATTERS)
                if "category" in answers:
                    category = answers["category"]
                title = f"{a}与{b}{subject}纠纷" if "category" not in answers else f"{a}等{category}纠纷"
                extra = {**SMALL, "category": category, "category_l2": f"{category}/{subject}", "summary": what,
                         "address": f"{village}{rng.randint(1, 9)}组{rng.randint(1, 40)}号",
                         "channel": rng.choice(("grid_patrol", "walk_in", "grid_patrol", "transfer_in")),
                         "parties": [{"role": "申请人", "name": a}, {"role": "被申请人", "name": b}],
                         "whistle_town": town_names[town], "leader_name": "孙书记", "leader_post": "市委政法委副书记"}
            out.append((days + rng.uniform(0, 0.4), Plan(
                kind=kind, process=process, grid=grid, title=title,
                registrar="village_mediator" if kind in BY_VILLAGE else "grid_worker",
                answers={**extra, **answers},
                stop_at=frozenset(stop_at), steps=steps, then=then)))
    return sorted(out, key=lambda pair: -pair[0])


def start_time(until, days_before):
    """A working hour of the day ``days_before`` the end (cases are registered in office hours)."""
    start = until - timedelta(days=days_before)
    return start if 1 <= start.hour <= 9 else start.replace(hour=1 + start.hour % 8)
