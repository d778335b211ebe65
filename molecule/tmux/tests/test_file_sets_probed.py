"""The role's file sets run no module when its probe shows their files in place (issue 15): the probe asks
for each file's sha256, owner, group and mode, and each set (install.yml's and files.yml's) compares the
answer with its own rendering on the controller. A file changed on the host must still be written back by
the next run: a program with one byte changed (the same size), a configuration with a line added, a
script loosened to 0600 and a unit made writable by everyone.
"""

from ephi_testlib import run_converge

CLIENT = "/usr/local/lib/ephi-safeguards/ephi-capture-client"     # install.yml's set
SESSION_CONFIG = "/etc/ephi-session.json"                         # files.yml's set (the gate's)
AUTOSTART = "/etc/profile.d/ephi-tmux-autostart.sh"
UNIT = "/etc/systemd/system/ephi-session-recorder.service"


def task_output(out, title):
    start = out.index(title)
    end = out.find("\nTASK [", start)
    return out[start:end if end >= 0 else len(out)]


def digest(host, path):
    return host.check_output("sha256sum %s" % path).split()[0]


def test_changed_files_of_the_file_sets_are_written_back_by_the_next_run(host):
    paths = (CLIENT, SESSION_CONFIG, AUTOSTART, UNIT)
    before = dict((path, digest(host, path)) for path in paths)
    modes = dict((path, host.file(path).mode) for path in paths)
    size = host.file(CLIENT).size
    # One byte of the program's second line (a comment), the size unchanged.
    host.check_output("sed -i '2s/^# ephi/# Ephi/' %s" % CLIENT)
    host.check_output("printf '\\n' >> %s" % SESSION_CONFIG)
    host.check_output("chmod 0600 %s && chmod 0666 %s" % (AUTOSTART, UNIT))
    assert host.file(CLIENT).size == size
    assert digest(host, CLIENT) != before[CLIENT] and digest(host, SESSION_CONFIG) != before[SESSION_CONFIG]
    run = run_converge(host, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    for path in paths:
        assert digest(host, path) == before[path], path
        assert host.file(path).mode == modes[path], path
        assert host.file(path).user == "root" and host.file(path).group == "root", path
    assert "\nchanged: [" in task_output(out, "install | Install the lock plugin and session capture's programs and units")
    assert "\nchanged: [" in task_output(out, "files | Install the enforcer, autostart, idle logoff, session gate")
