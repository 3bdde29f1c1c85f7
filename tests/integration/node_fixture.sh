# Pods whose containers are real processes, for the node agent's tests and benchmark
# (tests/integration/node-agent*.t.sh, bench/node_agent.bench.sh). Sourced.
#
# A "container" is a cgroup named as the kubelet's cgroupfs driver names it, under a
# prefix of the caller's own in the machine's cgroup v2 tree
# (<prefix>/kubepods/besteffort/pod<uid>/<64 hex id>), with a Go HTTP server started
# inside it; the pod's status then names it (containerd://<id>) as the kubelet would.
# The pods are bound to a Node object of the caller's that no kwok manages, so nothing
# else writes their status.
#
#   free_port                          a free TCP port on 127.0.0.1
#   nf_cgroup_root                     prints the cgroup v2 tree (/sys/fs/cgroup or the
#                                      unified mount of a hybrid host); fails without one
#   nf_node_create NODE                a Node object no kwok manages
#   nf_pod_create NS POD NODE APP      a pod with one container "app", label
#                                      app.kubernetes.io/name=APP; prints its uid
#   nf_start_container PREFIX UID BIN PORT LOG
#                                      a new container ID and cgroup of pod UID under
#                                      PREFIX, and BIN -addr 127.0.0.1:PORT in it, up and
#                                      answering; sets nf_cid and nf_pid (call it
#                                      directly, not in $(...))
#   nf_set_running NS POD CID RESTARTS the pod's status as the kubelet writes it once
#                                      container CID runs
#   nf_remove_cgroups PREFIX           removes PREFIX and every cgroup below it (their
#                                      processes must be gone)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

nf_cgroup_root() {
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if [ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

nf_node_create() {
	kubectl create -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: $1, labels: {kubernetes.io/hostname: $1}}
YAML
}

nf_pod_create() {
	kubectl -n "$1" create -f - >/dev/null <<YAML || return 1
apiVersion: v1
kind: Pod
metadata: {name: $2, labels: {app.kubernetes.io/name: $4}}
spec:
  nodeName: $3
  containers: [{name: app, image: httpsvc}]
YAML
	kubectl -n "$1" get pod "$2" -o jsonpath='{.metadata.uid}'
}

nf_cid=
nf_pid=
nf_start_container() {
	local prefix=$1 uid=$2 bin=$3 port=$4 log=$5 dir _
	nf_cid=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	dir=$prefix/kubepods/besteffort/pod$uid/$nf_cid
	mkdir -p "$dir" || return 1
	sh -c "echo \$\$ > $dir/cgroup.procs && exec $bin -addr 127.0.0.1:$port" >>"$log" 2>&1 &
	nf_pid=$!
	for _ in $(seq 1 20); do
		curl -sf -o /dev/null "127.0.0.1:$port/hello" && return 0
		sleep 0.5
	done
	return 1
}

nf_set_running() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	kubectl -n "$1" patch pod "$2" --subresource=status --type=merge -p "$(jq -nc \
		--arg cid "containerd://$3" --arg now "$now" --argjson restarts "$4" '{status: {
		phase: "Running", conditions: [{type: "Ready", status: "True"}],
		containerStatuses: [{name: "app", image: "httpsvc", imageID: "", ready: true,
		started: true, restartCount: $restarts, containerID: $cid,
		state: {running: {startedAt: $now}}}]}}')" >/dev/null
}

nf_remove_cgroups() {
	[ -n "$1" ] && [ -d "$1" ] || return 0
	find "$1" -depth -type d -exec rmdir {} \;
}
