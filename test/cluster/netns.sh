#!/usr/bin/env bash
# The API server's service proxy refuses loopback backends, so this test
# builds two network namespaces joined by a veth pair and nothing else:
# llmb-host (10.250.0.1) runs etcd, kube-apiserver and the test; llmb-pod
# (10.250.0.2) runs the simulators. No traffic leaves them. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "skipping the service-proxy test: it needs root and iproute2 (ip netns)" >&2
	exit 0
fi
: "${KUBEBUILDER_ASSETS:?run through make cluster-netns}"
tmp=$(mktemp -d)
host=llmb-host-$$
pod=llmb-pod-$$
cleanup() {
	[ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null || true
	ip netns del "$host" 2>/dev/null || true
	ip netns del "$pod" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# Built outside: inside the namespaces there is no module proxy.
go build -o "$tmp/kubectl-llmbench" ./cmd/kubectl-llmbench
go test -c -tags cluster -o "$tmp/cluster.test" ./test/cluster

ip netns add "$host"
ip netns add "$pod"
ip link add "h$$" type veth peer name "p$$"
ip link set "h$$" netns "$host"
ip link set "p$$" netns "$pod"
ip -n "$host" addr add 10.250.0.1/24 dev "h$$"
ip -n "$pod" addr add 10.250.0.2/24 dev "p$$"
for ns in "$host" "$pod"; do ip -n "$ns" link set lo up; done
ip -n "$host" link set "h$$" up
ip -n "$pod" link set "p$$" up

ip netns exec "$pod" "$tmp/kubectl-llmbench" sim --host 10.250.0.2 --vllm-port 8000 --tgi-port 8080 --ollama-port 11434 --time-scale 0.2 >"$tmp/sim.log" 2>&1 &
sim_pid=$!

cd test/cluster
ip netns exec "$host" env APISERVER_ADVERTISE_ADDRESS=10.250.0.1 LLMBENCH_NETNS_BACKEND=10.250.0.2 \
	LLMBENCH_PLUGIN_BIN="$tmp/kubectl-llmbench" "$tmp/cluster.test" -test.run 'ServiceProxy' -test.v -test.count=1 -test.timeout 10m
