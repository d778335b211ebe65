"""The ssh_key_policy role skips its check-mode plan of sshd_config (ephi.safeguards.ssh_policy_sshd_config)
when the ssh_key_policy_sshd_config_stale filter, given the text host_probe read, says nothing would change.
Here both answer for the same files: the module (check mode, the same arguments) and the filter on the
probe's read. A file the filter calls unchanged must be one the module would not change, or a re-run could
leave sshd_config out of date. Nothing outside tmp_path is read or written.
"""

from test_host_probe_blocks import run_play

INCLUDE = "Include /etc/ssh/sshd_config.d/*.conf"
SETTINGS = {"PasswordAuthentication": False, "KbdInteractiveAuthentication": False, "MaxAuthTries": 3,
            "AllowGroups": ["ephi-ssh", "sudo"], "Banner": "/etc/issue.net", "ClientAliveInterval": 300}
EXTRA = {"LoginGraceTime": 30}
DROPIN = "/etc/ssh/sshd_config.d/00-ephi-ssh-key-policy.conf"
DEBIAN = (b"# Debian's sshd_config, shortened\n" + INCLUDE.encode() + b"\n\nKbdInteractiveAuthentication no\n"
          b"UsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\n"
          b"Subsystem sftp /usr/lib/openssh/sftp-server\n")

PLAY = """\
- name: ssh_policy_sshd_config against the filter on host_probe's read
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    args: &args
      include: "{{ include }}"
      settings: "{{ settings }}"
      extra_settings: "{{ extra }}"
      dropin: "{{ dropin }}"
      sshd_bin: /bin/true
      validate: false
  tasks:
    - name: The file as the role leaves it
      ephi.safeguards.ssh_policy_sshd_config:
        path: "{{ done }}"
        <<: *args

    - name: Read them all as the role's probe does
      ephi.safeguards.host_probe:
        read: "{{ files }}"
      register: probe

    - name: What the module would do
      ephi.safeguards.ssh_policy_sshd_config:
        path: "{{ item }}"
        <<: *args
      check_mode: true
      loop: "{{ files }}"

    - name: What the filter says
      ansible.builtin.debug:
        msg: >-
          {{ files | map('extract', probe.contents)
             | map('ephi.safeguards.ssh_key_policy_sshd_config_stale', settings, extra, include, dropin) | list }}
"""


def test_the_filter_says_unchanged_only_where_the_module_changes_nothing(tmp_path):
    done = tmp_path / "done"
    done.write_bytes(DEBIAN)
    run_play(tmp_path, PLAY, {"done": str(done), "files": [], "settings": SETTINGS, "extra": EXTRA, "include": INCLUDE,
                              "dropin": DROPIN})
    applied = done.read_bytes()
    assert applied != DEBIAN and b"PasswordAuthentication no" in applied, applied.decode()
    # Unchanged: as the module left it, and with a Match block after it. Changed: Debian's own, the
    # managed block edited, a contradicting line added after the block, CRLF, no final newline,
    # the block gone, empty.
    contents = [
        applied,
        applied + b"Match User backup\n    PasswordAuthentication yes\n",
        DEBIAN,
        applied.replace(b"MaxAuthTries 3", b"MaxAuthTries 6"),
        applied + b"PasswordAuthentication yes\n",
        applied.replace(b"\n", b"\r\n"),
        applied[:-1],
        DEBIAN.replace(INCLUDE.encode(), b""),
        b"",
    ]
    files = []
    for index, content in enumerate(contents):
        path = tmp_path / ("sshd_config%d" % index)
        path.write_bytes(content)
        files.append(str(path))
    tasks = run_play(tmp_path, PLAY, {"done": str(tmp_path / "done"), "files": files, "settings": SETTINGS,
                                      "extra": EXTRA, "include": INCLUDE, "dropin": DROPIN})
    theirs = [item["changed"] for item in tasks[2]["hosts"]["localhost"]["results"]]
    ours = tasks[3]["hosts"]["localhost"]["msg"]
    assert theirs == [False, False] + [True] * 7, "the table's own premise: %s" % theirs
    assert ours == theirs
    # Nothing but the role-made copy was written.
    assert [open(name, "rb").read() for name in files] == contents
