# slurm_lib.sh - a private Slurm on this machine for the suites that need
# a real one (tests/test_slurm.sh): munged with its own key, socket and
# state; slurmctld and slurmd with a slurm.conf in $slurm_dir, on free
# ports, so that a system Slurm (if any) is neither used nor disturbed.
# Source it after lib.sh (it needs $tmp); then `slurm_start` (returns 1,
# having said why, when Slurm cannot run here: the caller skips), and
# everything is stopped at exit. Exports SLURM_CONF so that sbatch,
# squeue, scancel and sinfo (and jobringd started afterwards) use it.
#
# Nodes: $slurm_nodes slurmd processes (default 2), each a node of its own
# (NodeName jrn1.., NodeHostname this host, a port each) when this Slurm
# was built with multiple-slurmd support; else one node. `slurm_node_count`
# says how many came up. Partition "jrq" (the default) holds them all.
slurm_dir=""
slurm_pids=()
slurm_nodes=${slurm_nodes:-2}
slurm_partition=jrq

slurm_stop() {
	local p
	[ -n "$slurm_dir" ] || return 0
	for p in "${slurm_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${slurm_pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	# Job steps (slurmstepd) of this Slurm: their spool is ours.
	pgrep -f "slurmstepd.*$slurm_dir" 2>/dev/null | while read -r p; do kill -9 "$p"; done
	rm -rf "$slurm_dir"
	slurm_dir=""
}
trap 'slurm_stop; cleanup' EXIT

slurm_skip_reason() {	# why Slurm cannot run here, or nothing
	local b
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	for b in munged slurmctld slurmd sbatch squeue scancel sinfo; do
		command -v "$b" >/dev/null 2>&1 ||
			{ echo "$b not installed (make deps: slurmctld slurmd slurm-client munge)"; return; }
	done
	command -v python3 >/dev/null 2>&1 || echo "python3 missing (free ports)"
}

slurm_free_ports() {	# slurm_free_ports N: N free TCP ports on 127.0.0.1
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

slurm_start_munge() {
	mkdir -m 0700 "$slurm_dir/munge"
	dd if=/dev/urandom of="$slurm_dir/munge/key" bs=1024 count=1 status=none
	chmod 0400 "$slurm_dir/munge/key"
	munged --force --socket="$slurm_dir/munge/sock" --key-file="$slurm_dir/munge/key" \
		--log-file="$slurm_dir/munge/log" --pid-file="$slurm_dir/munge/pid" \
		--seed-file="$slurm_dir/munge/seed" >"$slurm_dir/munge/out" 2>&1 || return 1
	for _ in $(seq 50); do [ -s "$slurm_dir/munge/pid" ] && break; sleep 0.1; done
	[ -s "$slurm_dir/munge/pid" ] || return 1
	slurm_pids+=("$(cat "$slurm_dir/munge/pid")")
	[ -S "$slurm_dir/munge/sock" ]
}

# slurm_write_conf CTLD_PORT NODE_PORTS...: slurm.conf, one node a port
slurm_write_conf() {
	local ctld_port=$1 host i=0 p mem cpus
	shift
	host=$(hostname -s)
	cpus=$(nproc)
	mem=$(awk '/MemTotal/ { print int($2 / 1024 / 4) }' /proc/meminfo)
	cat >"$slurm_dir/slurm.conf" <<EOF
ClusterName=jrtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$slurm_dir/munge/sock
StateSaveLocation=$slurm_dir/ctld
SlurmdSpoolDir=$slurm_dir/spool/%n
SlurmctldPidFile=$slurm_dir/slurmctld.pid
SlurmdPidFile=$slurm_dir/slurmd-%n.pid
SlurmctldLogFile=$slurm_dir/slurmctld.log
SlurmdLogFile=$slurm_dir/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
MinJobAge=2
SlurmctldTimeout=10
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
EOF
	for p in "$@"; do
		i=$((i + 1))
		echo "NodeName=jrn$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$p CPUs=$cpus RealMemory=$mem State=UNKNOWN" \
			>>"$slurm_dir/slurm.conf"
	done
	echo "PartitionName=$slurm_partition Nodes=ALL Default=YES MaxTime=INFINITE State=UP" \
		>>"$slurm_dir/slurm.conf"
}

slurm_idle_nodes() { sinfo -h -N -p "$slurm_partition" -t idle -o '%N' 2>/dev/null | sort -u | wc -l; }

slurm_start_daemons() {	# slurm_start_daemons NODES: slurmctld and NODES slurmd
	local i
	mkdir -p "$slurm_dir/ctld" "$slurm_dir/spool"
	slurmctld -D -i -f "$slurm_dir/slurm.conf" >>"$slurm_dir/slurmctld.out" 2>&1 &
	slurm_pids+=("$!")
	for i in $(seq "$1"); do
		mkdir -p "$slurm_dir/spool/jrn$i"
		slurmd -D -N "jrn$i" -f "$slurm_dir/slurm.conf" >>"$slurm_dir/slurmd-jrn$i.out" 2>&1 &
		slurm_pids+=("$!")
	done
}

# slurm_start: everything up and the nodes idle (30 s), or 1 with the
# reason on stdout. Tries $slurm_nodes nodes, then one.
slurm_start() {
	local why ports n
	why=$(slurm_skip_reason)
	[ -z "$why" ] || { echo "Slurm cannot run here: $why"; return 1; }
	slurm_dir=$(mktemp -d /tmp/jr-slurm-XXXXXX)
	chmod 755 "$slurm_dir"
	export SLURM_CONF="$slurm_dir/slurm.conf"
	slurm_start_munge || { echo "Slurm cannot run here: munged did not start:"; \
		cat "$slurm_dir/munge/out" "$slurm_dir/munge/log" 2>/dev/null; return 1; }
	for n in "$slurm_nodes" 1; do
		ports=$(slurm_free_ports $((n + 1)))
		# shellcheck disable=SC2086
		slurm_write_conf $ports
		slurm_start_daemons "$n"
		if wait_until 30 slurm_nodes_up "$n"; then
			slurm_node_count=$n
			return 0
		fi
		[ "$n" = 1 ] && break
		echo "slurm: $n slurmd nodes did not come up (no multiple-slurmd?), trying one"
		slurm_stop_daemons
	done
	echo "Slurm cannot run here: the node did not become idle:"
	tail -5 "$slurm_dir"/*.log 2>/dev/null
	return 1
}

slurm_nodes_up() { [ "$(slurm_idle_nodes)" -ge "$1" ]; }

slurm_stop_daemons() {	# slurmctld and slurmd only (munged stays)
	local keep=("${slurm_pids[0]}") p
	for p in "${slurm_pids[@]:1}"; do kill "$p" 2>/dev/null || true; done
	for p in "${slurm_pids[@]:1}"; do wait "$p" 2>/dev/null || true; done
	slurm_pids=("${keep[@]}")
	rm -rf "$slurm_dir/ctld" "$slurm_dir/spool"
}
