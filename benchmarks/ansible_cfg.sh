# Sourced by benchmarks/site.sh and rerun_ab.sh: the controller settings every
# benchmark run uses (forks 8, SSH pipelining and ControlPersist, the ephi_cpu
# callback), so that the two scripts' figures compare.
# bench_ansible_cfg FILE CALLBACKS: writes FILE with callbacks_enabled = CALLBACKS.
bench_ansible_cfg() {
  cat > "$1" <<CFG
[defaults]
inject_facts_as_vars = false
interpreter_python = auto_silent
forks = 8
callbacks_enabled = $2
callback_plugins = $EPHI_ROOT/benchmarks/callback_plugins
retry_files_enabled = false
host_key_checking = false

[ssh_connection]
pipelining = true
ssh_args = -o ControlMaster=auto -o ControlPersist=300s
CFG
}
