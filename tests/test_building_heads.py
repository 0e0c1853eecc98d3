"""The 楼栋长/组长 roster (api/census/heads.py): kept by the grid and the village, a head's login
must be a 楼栋长/组长 of that grid, and an address finds its grid and its head."""
from __future__ import annotations

from api.census.heads import grid_of_address, head_for_address

G1 = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
URL = "/api/v1/census/building-heads"


def test_the_roster_is_kept_in_the_grid_and_checked(client, login, svc):
    grid = login("grid")
    listed = client.get(URL, headers=grid).get_json()
    assert [(h["label"], h["username"]) for h in listed] == [("杨家湾村3组", "louzhang")]  # the demo roster, own grid
    made = client.post(URL, headers=grid, json={"grid": "songbu-yangjiawan-g1", "label": "杨家湾村13组",
                                                "name": "王组长", "username": "louzhang"})
    assert made.status_code == 201, made.get_json()
    again = client.post(URL, headers=grid, json={"grid": "songbu-yangjiawan-g1", "label": "杨家湾村13组", "name": "某"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    foreign_login = client.post(URL, headers=grid, json={"grid": "songbu-yangjiawan-g1", "label": "杨家湾村8组",
                                                         "name": "朱组长", "username": "louzhang2"})
    assert foreign_login.status_code == 422 and "楼栋长/组长" in foreign_login.get_json()["message"]
    other_town = client.post(URL, headers=login("town"), json={"grid": "guishan-guifeng-g1", "label": "龟峰村9组",
                                                                "name": "某"})
    assert other_town.status_code == 404
    assert client.post(URL, headers=login("auditor"), json={}).status_code == 403
    with svc.db.read() as session:
        assert head_for_address(session, "/macheng/songbu/", "杨家湾村13组李家").label == "杨家湾村13组"
        assert head_for_address(session, "/macheng/songbu/", "杨家湾村3组").username == "louzhang"
        assert grid_of_address(session, "/macheng/guishan/", "杨家湾村3组") is None  # not in that town
    off = client.patch(f"{URL}/{made.get_json()['id']}", headers=login("secretary"), json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    with svc.db.read() as session:
        assert head_for_address(session, "/macheng/songbu/", "杨家湾村13组李家") is None  # 3组 is not 13组
