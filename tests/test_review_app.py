"""The review page's rules, through Flask's test client and the command line: loopback only, no write
without an analyst or from another page, every request checked against the night, comments escaped,
``--apply`` all-or-nothing."""
import re
import shutil

import pytest

from desghost.catalog.store import Catalog
from desghost.cli import main
from desghost.errors import UsageError
from desghost.review.app import ReviewNight, check_loopback, create_app


@pytest.fixture
def night(demo_night, tmp_path):
    out = tmp_path / "night"
    shutil.copytree(demo_night, out, ignore=shutil.ignore_patterns("report", "input"))
    return out


def _page(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.data
    return r.data.decode()


def _token(html):
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def _expnum(night):
    with Catalog(night / "desghost_catalog.sqlite", readonly=True) as cat:
        return cat.query("SELECT expnum FROM exposures")[0]["expnum"]


def _decisions(night):
    with Catalog(night / "desghost_catalog.sqlite", readonly=True) as cat:
        return cat.decisions()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.7", "::", "example.org", "127.0.0.2"])
def test_listening_on_anything_but_loopback_is_refused(night, host, capsys):
    with pytest.raises(UsageError, match="loopback"):
        check_loopback(host)
    assert main(["review", str(night), "--analyst", "ann", "--host", host]) == 2
    assert "serves only the loopback interface" in capsys.readouterr().err
    for ok in ("127.0.0.1", "::1", "localhost"):   # the names the page answers to (TRUSTED_HOSTS)
        check_loopback(ok)


def test_a_page_without_an_analyst_is_read_only(night):
    client = create_app(ReviewNight(night), analyst="  ").test_client()
    expnum = _expnum(night)
    html = _page(client, f"/exposure/{expnum}")
    assert "Read-only" in html
    r = client.post("/decide", data={"token": _token(html), "expnum": expnum, "target_kind": "instance",
                                     "target": "0", "decision": "confirm"})
    assert r.status_code == 403 and b"no analyst name" in r.data
    assert _decisions(night) == []


def test_every_request_is_checked_against_the_night_and_a_refused_one_writes_nothing(night):
    client = create_app(ReviewNight(night), analyst="ann").test_client()
    expnum = _expnum(night)
    token = _token(_page(client, f"/exposure/{expnum}"))
    base = {"token": token, "expnum": expnum, "target_kind": "instance", "target": "0", "decision": "confirm"}
    for bad, message in (({"expnum": 1}, b"EXPNUM 1 is not an exposure of this night"),
                         ({"expnum": "12x"}, b"not a whole number"),
                         ({"target": "99"}, b"has no instance 99"),
                         ({"target_kind": "ccd", "target": "63"}, b"CCDNUM 63 is not a CCD"),
                         ({"target_kind": "exposure", "target": "", "decision": "missed", "class": "Rays",
                           "ccdnums": "5 70"}, b"CCDNUM 70 is not a CCD"),
                         ({"target_kind": "exposure", "target": "", "decision": "missed", "class": "Ghost",
                           "ccdnums": "5"}, b"needs its class"),
                         ({"decision": "maybe"}, b"decision must be one of"),
                         ({"decision": "missed", "class": "Rays", "ccdnums": "5"}, b"about the whole exposure"),
                         ({"target_kind": "exposure", "target": "zzz"}, b"has no target"),
                         ({"target_kind": "ccd", "target": "\u0664\u0665"}, b"is not a CCD"),
                         ({"target_kind": "exposure", "target": "", "decision": "missed", "class": "Rays",
                           "ccdnums": "61"}, b"CCDNUM 61 is dead"),
                         ({"token": "\u00e9t\u00e9"}, b"does not come from this review page")):
        r = client.post("/decide", data={**base, **bad})
        assert r.status_code in (400, 403) and message in r.data, (bad, r.data)
    r = client.post("/decide", data={**base, "token": "from-another-site"})
    assert r.status_code == 403 and r.headers["X-Frame-Options"] == "DENY"
    assert client.get("/exposure/1").status_code == 404 and client.get("/overlay/1.png").status_code == 404
    assert client.get("/", headers={"Host": "attacker.example:8765"}).status_code == 400   # DNS rebinding
    assert _decisions(night) == []
    r = client.post("/decide", data=base)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/exposure/{expnum}")
    client.post("/decide", data={**base, "target_kind": "ccd", "target": "045", "decision": "reject"})
    assert [(d.target, d.decision, d.analyst) for d in _decisions(night)] == [("0", "confirm", "ann"),
                                                                              ("45", "reject", "ann")]


def test_a_comment_is_shown_escaped_and_the_decision_on_reload(night):
    client = create_app(ReviewNight(night), analyst="ann <b>").test_client()
    expnum = _expnum(night)
    html = _page(client, f"/exposure/{expnum}")
    comment = "<script>alert('x')</script> & \"quotes\""
    r = client.post("/decide", data={"token": _token(html), "expnum": expnum, "target_kind": "exposure", "target": "",
                                     "decision": "missed", "class": "Rays", "ccdnums": "5, 6", "comment": comment})
    assert r.status_code == 303
    html = _page(client, f"/exposure/{expnum}")
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert "ann &lt;b&gt;" in html and "ann <b>" not in html
    assert "CCDs 5, 6" in html and "0 left to review" in html


def _write_csv(path, rows):
    path.write_text("expnum,target_kind,target,decision,class,ccdnums,polygon_px,comment\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("row, message", [
    ('{e},exposure,,missed,Rays,,"[[NaN,0],[1e300,1],[2,Infinity]]",', "finite coordinates"),
    ('{e},exposure,,missed,Rays,,"[[10,10],[20,20]]",', "at least 3 points"),
    ('{e},exposure,,missed,Rays,,"[[10,10],[900,20],[20,30]]",', "outside the 400x400"),
    ("{e},instance,1,reject,,,,a satellite trail, not a ghost", "more fields than columns")])
def test_apply_refuses_bad_polygons_and_rows_with_too_many_fields(night, tmp_path, capsys, row, message):
    path = _write_csv(tmp_path / "d.csv", [row.format(e=_expnum(night))])
    assert main(["review", str(night), "--analyst", "ann", "--apply", str(path)]) == 18
    assert message in capsys.readouterr().err and _decisions(night) == []


def test_apply_with_one_bad_row_writes_nothing_and_a_good_file_writes_all(night, tmp_path, capsys):
    expnum = _expnum(night)
    good = [f"{expnum},instance,0,confirm,,,,", f"{expnum},instance,1,reject,,,,a satellite",
            f'{expnum},exposure,,missed,Bright,"12 13",,', f'{expnum},exposure,,missed,Faint,,"[[10,10],[60,10],[60,60]]",']
    bad = _write_csv(tmp_path / "bad.csv", [*good[:2], f"{expnum},instance,7,reject,,,,", good[2]])
    assert main(["review", str(night), "--analyst", "ann", "--apply", str(bad)]) == 18
    err = capsys.readouterr().err
    assert "bad.csv: line 4: EXPNUM" in err and "has no instance 7" in err and "nothing was applied" in err
    assert _decisions(night) == []
    assert main(["review", str(night), "--apply", str(_write_csv(tmp_path / "good.csv", good))]) == 2  # no analyst
    assert _decisions(night) == []
    assert main(["-q", "review", str(night), "--analyst", "ann", "--apply", str(tmp_path / "good.csv")]) == 0
    stored = _decisions(night)
    assert [(d.target_kind, d.decision, d.artifact_class, d.ccdnums) for d in stored] == [
        ("instance", "confirm", "", ()), ("instance", "reject", "", ()), ("exposure", "missed", "Bright", (12, 13)),
        ("exposure", "missed", "Faint", ())]
    assert stored[3].polygon_px == ((10.0, 10.0), (60.0, 10.0), (60.0, 60.0)) and {d.analyst for d in stored} == {"ann"}


def test_exposures_without_instances_are_confirmed_in_bulk_and_busy_ones_are_refused(night):
    client = create_app(ReviewNight(night), analyst="ann").test_client()
    expnum = _expnum(night)
    html = _page(client, "/")
    assert "1 of 1 exposures left to review" in html
    r = client.post("/bulk-clean", data={"token": _token(_page(client, f"/exposure/{expnum}")), "expnum": expnum})
    assert r.status_code == 400 and b"has instances" in r.data and _decisions(night) == []


def test_decisions_on_instances_of_an_earlier_run_no_longer_apply(night, capsys):
    import csv
    import io

    client = create_app(ReviewNight(night), analyst="ann").test_client()
    expnum = _expnum(night)
    token = _token(_page(client, f"/exposure/{expnum}"))
    for kind, target in (("instance", "0"), ("ccd", "45")):
        client.post("/decide", data={"token": token, "expnum": expnum, "target_kind": kind, "target": target,
                                     "decision": "reject"})

    def reviewed():
        assert main(["query", "--catalog", str(night / "desghost_catalog.sqlite"), "--review", "reviewed",
                     "--format", "csv"]) == 0
        return {int(r["ccdnum"]) for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}

    with Catalog(night / "desghost_catalog.sqlite") as cat:
        model = {r["ccdnum"] for r in cat.query("SELECT ccdnum FROM excluded_ccds")}
        run = cat.query("SELECT processed_at FROM exposures")[0]["processed_at"]
        assert {d.run_at for d in cat.decisions()} == {run}
    before = reviewed()
    assert before < model
    with Catalog(night / "desghost_catalog.sqlite") as cat:   # what a re-run of the exposure changes
        cat.conn.execute("UPDATE exposures SET processed_at='2030-01-01T00:00:00+00:00'")
    after = reviewed()
    assert after == model - {45}              # the instance decision is stale, the CCD decision stands
    html = _page(client, f"/exposure/{expnum}")
    assert 'id="stale"' in html and "1 decision on instances of an earlier run" in html
