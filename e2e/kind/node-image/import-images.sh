#!/bin/bash
# Imports the images built with this node image (/kind/images/*.tar: the control plane,
# kube-proxy, CoreDNS, pause) into containerd's k8s.io namespace before the kubelet
# first starts, so that nothing is ever pulled. Run as the kubelet's ExecStartPre; a
# marker makes every later start a no-op.
set -euo pipefail
marker=/var/lib/kind-images-imported
[ -e "$marker" ] && exit 0
for _ in $(seq 120); do
	ctr version >/dev/null 2>&1 && break
	sleep 0.5
done
for f in /kind/images/*.tar; do
	ctr -n k8s.io images import "$f" >/dev/null
done
touch "$marker"
