"""The evidence report renders: playbooks/verify.yml's Report play writes
evidence.json, evidence.html and evidence.junit.xml from a real fixture, the
JUnit XML parses with the right counts, and headless Chromium renders the
HTML into a page that names every host and every failing control, runs no
script, and is not blank.

Set EPHI_REPORT_SCREENSHOT=docs/images/evidence-report.png to keep the
screenshot (that is how the README's picture is made).
"""

import collections
import html.parser
import json
import os
import shutil
import xml.etree.ElementTree as ET

from conftest import DOWN_HOST, FAILING_CONTROL, FAILING_HOST, HOSTILE, read_png

# The colours of a passing and a failing matrix cell (CSS --pass-bg, --fail-bg).
PASS_BG, FAIL_BG = (0xDA, 0xFB, 0xE1), (0xFF, 0xEB, 0xE9)


def test_the_play_writes_all_three_reports(reports):
    assert "Write the evidence reports on the controller" in reports["proc"].stdout
    written = json.loads(reports["json"].read_text())
    # Every host of the play, in inventory order, the one that failed early with no records.
    assert list(written) == list(reports["evidence"]) + [DOWN_HOST]
    assert written[DOWN_HOST] == []
    for host, records in reports["evidence"].items():
        assert written[host] == records
    # Host data is never templated on the way.
    for path in ("json", "html", "junit"):
        assert "{{ 7 * 6 }}" in reports[path].read_text()


def test_junit_parses_with_the_right_counts(reports):
    root = ET.parse(reports["junit"]).getroot()
    evidence = reports["evidence"]
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == list(evidence) + [DOWN_HOST]
    totals = collections.Counter()
    for suite in suites:
        records = evidence.get(suite.get("name"), [])
        cases = suite.findall("testcase")
        want = {
            "tests": max(len(records), 1),
            "failures": sum(r["status"] == "fail" for r in records),
            "errors": 0 if records else 1,
            "skipped": sum(r["status"] == "not_applicable" for r in records),
        }
        assert {k: int(suite.get(k)) for k in want} == want, suite.get("name")
        assert len(cases) == want["tests"]
        assert len(suite.findall("testcase/failure")) == want["failures"]
        assert len(suite.findall("testcase/skipped")) == want["skipped"]
        assert len(suite.findall("testcase/error")) == want["errors"]
        assert [c.get("name") for c in cases] == ([r["id"] for r in records] or ["evidence"])
        totals.update(want)
    assert {k: int(root.get(k)) for k in totals} == dict(totals)
    assert totals["failures"] == 1 and totals["errors"] == 1
    failure = root.find("testsuite[@name='%s']/testcase[@name='%s']/failure" % (FAILING_HOST, FAILING_CONTROL))
    assert failure.get("message") == HOSTILE


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = collections.Counter()
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1

    def handle_data(self, data):
        self.text.append(data)


def test_chromium_renders_hosts_and_failing_controls(reports, chromium):
    dom = chromium("--dump-dom", reports["html"].as_uri()).stdout
    parsed = Dom()
    parsed.feed(dom)
    text = " ".join(parsed.text)
    assert parsed.tags["table"] >= 2 and parsed.tags["details"] > 0, dom[:2000]
    # The host's value stayed text: no element came out of it.
    assert parsed.tags["script"] == 0
    assert HOSTILE in text
    for host in list(reports["evidence"]) + [DOWN_HOST]:
        assert host in text, host
    failing = [(host, r["id"]) for host, records in reports["evidence"].items() for r in records if r["status"] == "fail"]
    assert failing == [(FAILING_HOST, FAILING_CONTROL)]
    for dummy, control in failing:
        assert control in text
    assert "4 host(s), 72 control(s), 1 failure(s), 3 not applicable, 1 host(s) without evidence." in text
    assert "no evidence records" in text


def test_chromium_screenshot_is_a_real_page(reports, chromium, tmp_path):
    shot = tmp_path / "evidence.png"
    chromium("--screenshot=%s" % shot, "--window-size=1400,900", reports["html"].as_uri())
    assert shot.stat().st_size > 20000, shot.stat().st_size
    width, height, rows = read_png(shot)
    assert (width, height) == (1400, 900)
    colours = collections.Counter(pixel for row in rows for pixel in row)
    # Text, borders and the status colours: hundreds of colours, no single one taking the page.
    assert len(colours) > 200, len(colours)
    assert colours.most_common(1)[0][1] < 0.9 * width * height

    def near(colour):
        return sum(n for c, n in colours.items() if all(abs(a - b) <= 3 for a, b in zip(c, colour)))

    # The styles applied: green passing cells and the red failing one are on screen.
    assert near(PASS_BG) > 20000, near(PASS_BG)
    assert near(FAIL_BG) > 2000, near(FAIL_BG)
    keep = os.environ.get("EPHI_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
