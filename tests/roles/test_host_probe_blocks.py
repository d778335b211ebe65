"""ephi.safeguards.host_probe's blocks against ansible.builtin.blockinfile itself, and its lines
(with a line) against ansible.builtin.lineinfile: for every content a system file may have, the
probe says "in place" exactly when the real module (check mode, the same arguments) would change
nothing. A skip decided on the probe's answer can then never leave a hook or a setting out of
date (tmux's gate hooks in /etc/bash.bashrc and /etc/zsh/zshenv, aide.conf's include line).
Both modules run through ansible-playbook against the controller; nothing outside tmp_path is read.
"""

import json
import os
import subprocess
import sys

from conftest import JSON_CALLBACK

MARKER = "# {mark} ephi hook"
BLOCK = 'if [ -n "$X" ]; then\n  exec /gate\nfi\n'
HOOK = b'# BEGIN ephi hook\nif [ -n "$X" ]; then\n  exec /gate\nfi\n# END ephi hook\n'
# In place: first, later, twice (blockinfile takes the last markers), CRLF lines around it, no
# final newline after it. Not: missing, changed, half, reversed, CRLF inside, no newline at the
# end of the END line, an empty file.
CONTENTS = [
    HOOK + b"# Debian bashrc\n",
    b"# top\n" + HOOK,
    HOOK + b"x\n" + HOOK,
    b"a\r\n" + HOOK + b"b\r\n",
    HOOK + b"last line",
    b"# Debian bashrc\n",
    HOOK.replace(b"/gate", b"/other"),
    HOOK.replace(b"# END ephi hook\n", b""),
    b"# END ephi hook\n# BEGIN ephi hook\n",
    HOOK.replace(b"fi\n", b"fi\r\n"),
    HOOK[:-1],
    b"",
]

PLAY = """\
- name: host_probe blocks against blockinfile
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: What blockinfile would do
      ansible.builtin.blockinfile:
        path: "{{ item }}"
        marker: "{{ marker }}"
        block: "{{ block }}"
        insertbefore: BOF
      check_mode: true
      loop: "{{ files }}"
      register: theirs

    - name: What the probe says
      ephi.safeguards.host_probe:
        blocks: "{{ blocks }}"
      register: ours
"""


def write_files(tmp_path, contents):
    files = []
    for index, content in enumerate(contents):
        path = tmp_path / ("rc%d" % index)
        path.write_bytes(content)
        files.append(str(path))
    return files


def run_play(tmp_path, play_text, extra):
    play = tmp_path / "play.yml"
    play.write_text(play_text)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK=JSON_CALLBACK, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    extra = dict(extra, ansible_python_interpreter=sys.executable)
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", str(play), "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["plays"][0]["tasks"]


def test_the_probe_agrees_with_blockinfile(tmp_path):
    files = write_files(tmp_path, CONTENTS)
    tasks = run_play(tmp_path, PLAY, {"files": files, "marker": MARKER, "block": BLOCK,
                                      "blocks": [{"path": name, "marker": MARKER, "block": BLOCK} for name in files]})
    theirs = [not item["changed"] for item in tasks[0]["hosts"]["localhost"]["results"]]
    ours = [entry["in_place"] for entry in tasks[1]["hosts"]["localhost"]["blocks"]]
    assert theirs == [True] * 5 + [False] * 7, "the table's own premise"
    assert ours == theirs
    # Nothing was written.
    assert [open(name, "rb").read() for name in files] == CONTENTS


LINE = "@@x_include /etc/aide/aide.conf.d ^[0-9]+_ephi$"
REGEXP = r"^@@x_include\s+/etc/aide/aide\.conf\.d(\s|$)"
OTHER = b"@@x_include /etc/aide/aide.conf.d ^[a-z]+$\n"
# In place: alone, between other lines, after an earlier match (lineinfile looks at the last
# one), CRLF lines around it. Not: no final newline, an earlier match last, CRLF on the line,
# indented (no match, no exact line), only another value, empty.
LINE_CONTENTS = [
    LINE.encode() + b"\n",
    b"a\n" + LINE.encode() + b"\nb\n",
    OTHER + LINE.encode() + b"\n",
    b"a\r\n" + LINE.encode() + b"\nb\r\n",
    LINE.encode(),
    LINE.encode() + b"\n" + OTHER,
    LINE.encode() + b"\r\n",
    b"  " + LINE.encode() + b"\n",
    OTHER,
    b"",
]

LINE_PLAY = """\
- name: host_probe lines against lineinfile
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: What lineinfile would do
      ansible.builtin.lineinfile:
        path: "{{ item }}"
        regexp: "{{ regexp }}"
        line: "{{ line }}"
      check_mode: true
      loop: "{{ files }}"
      register: theirs

    - name: What the probe says
      ephi.safeguards.host_probe:
        lines: "{{ lines }}"
      register: ours
"""


def test_the_probe_agrees_with_lineinfile(tmp_path):
    files = write_files(tmp_path, LINE_CONTENTS)
    tasks = run_play(tmp_path, LINE_PLAY, {"files": files, "regexp": REGEXP, "line": LINE,
                                           "lines": [{"path": name, "regexp": REGEXP, "line": LINE} for name in files]})
    theirs = [not item["changed"] for item in tasks[0]["hosts"]["localhost"]["results"]]
    ours = [entry["in_place"] for entry in tasks[1]["hosts"]["localhost"]["lines"]]
    assert theirs == [True] * 4 + [False] * 6, "the table's own premise"
    assert ours == theirs
    assert [open(name, "rb").read() for name in files] == LINE_CONTENTS
