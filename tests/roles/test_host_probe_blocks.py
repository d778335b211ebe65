"""ephi.safeguards.host_probe's blocks against ansible.builtin.blockinfile itself: for every
content a system rc file may have, the probe says "in place" exactly when blockinfile (check
mode, the same marker and block) would change nothing. A skip decided on the probe's answer can
then never leave a hook out of date (tmux's gate hooks in /etc/bash.bashrc and /etc/zsh/zshenv).
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


def test_the_probe_agrees_with_blockinfile(tmp_path):
    files = []
    for index, content in enumerate(CONTENTS):
        path = tmp_path / ("rc%d" % index)
        path.write_bytes(content)
        files.append(str(path))
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK=JSON_CALLBACK, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    extra = {"files": files, "marker": MARKER, "block": BLOCK, "ansible_python_interpreter": sys.executable,
             "blocks": [{"path": name, "marker": MARKER, "block": BLOCK} for name in files]}
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", str(play), "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    theirs = [not item["changed"] for item in tasks[0]["hosts"]["localhost"]["results"]]
    ours = [entry["in_place"] for entry in tasks[1]["hosts"]["localhost"]["blocks"]]
    assert theirs == [True] * 5 + [False] * 7, "the table's own premise"
    assert ours == theirs
    # Nothing was written.
    assert [open(name, "rb").read() for name in files] == CONTENTS
