"""Shared harness for the report tests: run the real Report play of
playbooks/verify.yml through ansible-playbook on the controller, fed with a
real evidence fixture, then look at what it wrote with headless Chromium.

The role verify entry points are skipped by tag (they would inspect this
machine); a stand-in play sets the records they would set, read through a
lookup so that Ansible treats them as data from elsewhere, as it does records
built from what hosts report. One more host fails before the report, as an
unreachable host would.
"""

import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import zlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "evidence.json"
DOWN_HOST = "ephi-lab-down"
# The lab's real evidence (three hosts, every control passing or not applicable)
# with one finding added: a file name on the host can hold anything, markup and
# Jinja included, and must reach every report as inert text.
FAILING_HOST, FAILING_CONTROL = "ephi-lab-2", "aide-check-clean"
HOSTILE = "1 changed: /etc/ssh/sshd_config; 1 added: /usr/local/bin/<script>alert(1)</script>{{ 7 * 6 }}&amp;"
ROLE_TAGS = "encrypted_logs,tmux,ssh_key_policy,aide"

STAND_IN = """\
- name: Stand-in for the verify entry points of the roles
  hosts: all
  gather_facts: false
  tasks:
    - name: A host that fails before the report
      ansible.builtin.fail:
        msg: unreachable stand-in
      when: inventory_hostname == '{down}'

    - name: The records the roles' verify entry points would append
      ansible.builtin.set_fact:
        ephi_verify_controls: "{{{{ (lookup('ansible.builtin.file', '{evidence}') | from_json)[inventory_hostname] }}}}"

- name: The verify playbook, whose role plays are skipped by tag
  ansible.builtin.import_playbook: {verify}
"""


def findings_evidence():
    """The fixture with the added finding: host -> records."""
    evidence = json.loads(FIXTURE.read_text())
    for record in evidence[FAILING_HOST]:
        if record["id"] == FAILING_CONTROL:
            record.update(status="fail", observed=HOSTILE)
    return evidence


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is needed (Debian package chromium; bash scripts/test.sh report installs it)")
    return None


@pytest.fixture(scope="session")
def reports(tmp_path_factory):
    """Run the Report play once: {'json': path, 'html': path, 'junit': path, 'evidence': input, 'proc': ...}."""
    tmp = tmp_path_factory.mktemp("report")
    evidence = findings_evidence()
    (tmp / "evidence-in.json").write_text(json.dumps(evidence))
    (tmp / "play.yml").write_text(STAND_IN.format(down=DOWN_HOST, evidence=tmp / "evidence-in.json",
                                                  verify=ROOT / "playbooks" / "verify.yml"))
    # The collection under test, by FQCN, whatever the checkout is called.
    link = tmp / "collections" / "ansible_collections" / "ephi" / "safeguards"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    (tmp / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = false\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="true")
    hosts = ",".join(list(evidence) + [DOWN_HOST]) + ","
    out = tmp / "ephi-reports"
    proc = subprocess.run(
        ["ansible-playbook", "-i", hosts, str(tmp / "play.yml"), "--skip-tags", ROLE_TAGS,
         "-e", json.dumps({"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                           "ephi_report_dir": str(out)})],
        capture_output=True, text=True, env=env, cwd=tmp, timeout=300, check=False)
    paths = {"json": out / "evidence.json", "html": out / "evidence.html", "junit": out / "evidence.junit.xml"}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    assert not missing, "not written: %s\n%s\n%s" % (missing, proc.stdout[-4000:], proc.stderr[-2000:])
    return dict(paths, evidence=evidence, proc=proc, tmp=tmp)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """chromium(*args) -> completed process of headless Chromium, stdout as text."""
    binary = chromium_binary()
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run(*args):
        proc = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--no-first-run", "--user-data-dir=%s" % profile] + list(args),
            capture_output=True, text=True, timeout=180, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    return run


def read_png(path):
    """(width, height, [row of (r, g, b) tuples]) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
    width, height, depth, colour, dummy, dummy, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format %r" % (header,)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        previous = line
    return width, height, rows
