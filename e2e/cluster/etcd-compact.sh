#!/usr/bin/env bash
# Compacts the etcd of a local cluster to its current revision, through etcd's JSON
# gateway on the client URL (CLUSTER_DIR/etcd-url), and prints that revision. A watch
# that resumes from an older resourceVersion and is served from etcd (no watch cache
# for its resource) then ends with 410 Gone.
# Seen with kube-apiserver v1.34.2 and etcd v3.6.16: a watch from resourceVersion R
# starts at R+1 and gets 410 only when R+1 is below the compacted revision. When R+1
# is the compacted revision itself (one write after R, then compaction), the API
# server answers an ERROR event with code 500 instead: "etcd event received with
# PrevKv=nil", because the compaction removed the previous value it needs.
# Usage: etcd-compact.sh CLUSTER_DIR
set -euo pipefail
d=${1:?usage: etcd-compact.sh CLUSTER_DIR}
url=$(<"$d/etcd-url")
# Any range request answers with the store's current revision in its header; the key
# is base64 ("/registry"), limit 1 keeps the answer small.
rev=$(curl -fsS --max-time 10 -X POST "$url/v3/kv/range" -d '{"key":"L3JlZ2lzdHJ5","limit":1}' |
	jq -er '.header.revision | tonumber')
out=$(curl -sS --max-time 30 -X POST "$url/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}")
# Nothing written since an earlier compaction to this same revision: etcd answers
# 400 "required revision has been compacted", and the store is compacted all the same.
if ! jq -e '.header' <<<"$out" >/dev/null 2>&1 &&
	! jq -e '.message | test("required revision has been compacted")' <<<"$out" >/dev/null 2>&1; then
	echo "etcd-compact: compaction to $rev failed: $out" >&2
	exit 1
fi
echo "$rev"
