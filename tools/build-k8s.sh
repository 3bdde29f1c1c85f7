#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the tests run (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl) from k8s.io/kubernetes through the
# Go module proxy, into $OUT. Upstream's go.mod replaces every staging module with a
# local path, so `go install k8s.io/kubernetes/cmd/...@v` is refused; a wrapper module
# replaces each staging module with its published v0.<minor>.<patch> tag instead.
# Versions are stamped because kubectl, helm and kwok read them.
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
goline=$(sed -n 's/^go \(.*\)/\1/p' "$mod")
go mod edit -go="$goline"
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$mod"); do
	go mod edit -replace="$m=$m@$STG"
done
cmds="kube-apiserver kube-controller-manager kube-scheduler kubectl"
go get $(for c in $cmds; do echo "k8s.io/kubernetes/cmd/$c@$K8S"; done)
ld="-s -w"
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	ld="$ld -X $p.gitVersion=$K8S -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean"
done
go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" -o "$OUT/" \
	$(for c in $cmds; do echo "k8s.io/kubernetes/cmd/$c"; done)
"$OUT/kube-apiserver" --version
