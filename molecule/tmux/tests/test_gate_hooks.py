"""The session gate's hook at the top of /etc/bash.bashrc is restored by the next run.

A re-run writes the hook only when its probe (host_probe's blocks, which
tests/roles/test_host_probe_blocks.py checks against blockinfile itself) does
not find it in place, root's and 0644. Here the hook is gone, as after a bash
upgrade that replaced the conffile or an edit, and the file was left writable
by everyone (any user could then remove the hook and run their ~/.bashrc
before the gate): the next converge must put both right, byte for byte.
"""

from ephi_testlib import run_converge

BASHRC = "/etc/bash.bashrc"
MARK = "ephi.safeguards:tmux session gate"
TASK = "activate | Run the gate before any start-up file of the user in bash"


def test_a_removed_hook_and_a_world_writable_bashrc_are_restored_by_the_next_run(host):
    before = host.file(BASHRC).content_string
    assert before.startswith("# BEGIN %s" % MARK) and host.file(BASHRC).mode == 0o644, before[:300]
    host.check_output("cp -p %s /root/ephi-bashrc-backup" % BASHRC)
    host.check_output("sed -i '/^# BEGIN %s/,/^# END %s/d' %s && chmod 0666 %s" % (MARK, MARK, BASHRC, BASHRC))
    try:
        assert MARK not in host.file(BASHRC).content_string
        run = run_converge(host)
    finally:
        if MARK not in host.file(BASHRC).content_string:
            host.check_output("cp -p /root/ephi-bashrc-backup %s" % BASHRC)
        host.check_output("rm -f /root/ephi-bashrc-backup")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    # The hook's task ran and changed the file (it was not skipped on a stale answer).
    task = out[out.index(TASK):]
    task = task[:task.find("\nTASK [")]
    assert "\nchanged: [" in task, task[:500]
    assert host.file(BASHRC).content_string == before
    assert host.file(BASHRC).mode == 0o644
