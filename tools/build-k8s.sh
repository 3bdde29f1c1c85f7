#!/usr/bin/env bash
# Builds the Kubernetes binaries the tests run from k8s.io/kubernetes through the Go
# module proxy, into $OUT: the control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl) for the local control plane, and kubeadm, kubelet and
# kube-proxy for the kind node image. One `go build` shares the compiled packages. Upstream's go.mod replaces every staging module with a
# local path, so `go install k8s.io/kubernetes/cmd/...@v` is refused; a wrapper module
# replaces each staging module with its published v0.<minor>.<patch> tag instead.
# Versions are stamped because kubectl, helm and kwok read them.
#
# Measured with v1.34.2 (go1.26.8, GOTOOLCHAIN=local): the tag's go.mod replaces 31
# staging modules (the 29 it requires, plus sample-cli-plugin and sample-controller),
# all published at v0.34.2; the four binaries build in about 4 minutes on 2 cores
# from an empty GOCACHE, and in under a minute (mostly linking) from a warm one.
# `kube-apiserver --version` then prints "Kubernetes v1.34.2".
set -euo pipefail
K8S=${K8S:?K8S version, e.g. v1.34.2}
OUT=${OUT:?output directory}
STG=v0.${K8S#v1.}
MINOR=${STG#v0.}; MINOR=${MINOR%%.*}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$OUT/.src"
mkdir -p "$work" "$OUT"
cd "$work"
[ -f go.mod ] || go mod init local/k8sbuild >/dev/null 2>&1
mod=$(go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
# The tag's own go and godebug lines (v1.34: go 1.24.0, godebug default=go1.24), so the
# binaries keep upstream's GODEBUG defaults whatever the local toolchain is.
go mod edit -go="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$mod")"
for g in $(sed -n -e 's/^godebug[[:space:]]\{1,\}\([^ (]*=[^ ]*\).*/\1/p' \
	-e '/^godebug[[:space:]]*(/,/^)/s/^[[:space:]]\{1,\}\([^ ]*=[^ ]*\).*/\1/p' "$mod"); do
	go mod edit -godebug="$g"
done
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$mod"); do
	go mod edit -replace="$m=$m@$STG"
done
cmds="kube-apiserver kube-controller-manager kube-scheduler kubectl kubeadm kubelet kube-proxy"
go get $(for c in $cmds; do echo "k8s.io/kubernetes/cmd/$c@$K8S"; done)
ld="-s -w"
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	ld="$ld -X $p.gitVersion=$K8S -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean"
done
# Built aside and moved in with kube-apiserver (make's target) last, so an interrupted
# build never leaves a target that looks complete.
rm -rf "$OUT/.new"
go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" -o "$OUT/.new/" \
	$(for c in $cmds; do echo "k8s.io/kubernetes/cmd/$c"; done)
for c in kube-controller-manager kube-scheduler kubectl kubeadm kubelet kube-proxy kube-apiserver; do
	mv -f "$OUT/.new/$c" "$OUT/$c"
done
rmdir "$OUT/.new"
"$OUT/kube-apiserver" --version
