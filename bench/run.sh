#!/usr/bin/env bash
# Benchmarks noip side by side with its baselines, in one run, and prints
# the ratios the project's goals are stated in:
#   connection rate (connect+accept+close): noip vs TCP loopback (goal >= 1.0),
#     both with Go's net package and with the bare system calls a C program
#     makes
#   stream throughput: noip vs TCP loopback (goal >= 1.5)
#   launch: `noip true` minus `true` (goal <= 3 ms)
#   one intercepted call (setsockopt) under noip, vs the kernel's own
# Unix sockets are shown too: they are the ceiling noip can reach.
# Also: one datagram and its echo (noip vs UDP, goal >= 1.0), open+close
# under uopen (goal <= +5 us), and with NOIP_BASELINE=/path/to/older/noip
# the connection rate of that build beside this one's.
# Usage: bench/run.sh [COUNT]   (COUNT runs of each, median reported)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
out=bench/out
mkdir -p "$out"
go build -o "$out/noip" ./cmd/noip
go build -o "$out/uopen" ./cmd/uopen
go test -c -o "$out/bench.test" ./bench
export NOIP_BENCH_NOIP="$PWD/$out/noip"
tmp=$(mktemp -d)
chmod 700 "$tmp"
trap 'rm -rf "$tmp"' EXIT

run() { # label, then the command
	local label=$1; shift
	"$@" -test.run='^$' -test.bench="$bench" -test.count="$count" -test.benchtime="${benchtime:-1s}" |
		awk -v l="$label" '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); print l, $0 }'
}
{
	bench='Connect|Stream|NotifiedCall|RoundTrip|OpenClose' run plain "$out/bench.test"
	bench='ConnectTCP|ConnectRawTCP|StreamTCP|StreamBigTCP|NotifiedCall|UDPRoundTrip|OpenClose' run noip env TMPDIR="$tmp" "$out/noip" "$out/bench.test"
	bench='OpenClose' run uopen "$out/uopen" "$out/bench.test"
	if [ -n "${NOIP_BASELINE:-}" ]; then # an earlier build of noip, to compare with
		bench='ConnectTCP|ConnectRawTCP' run old env TMPDIR="$tmp" "$NOIP_BASELINE" "$out/bench.test"
	fi
	bench='Launch' benchtime=200x run plain "$out/bench.test"
} | tee "$out/raw.txt"

# Median of each (label, benchmark) in ns/op.
awk '
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = v[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ key = $1 " " $2; v[key, ++cnt[key]] = $4 }
END {
	ct = median("plain BenchmarkConnectTCP"); cu = median("plain BenchmarkConnectUnix"); cn = median("noip BenchmarkConnectTCP")
	rt = median("plain BenchmarkConnectRawTCP"); ru = median("plain BenchmarkConnectRawUnix"); rn = median("noip BenchmarkConnectRawTCP")
	st = median("plain BenchmarkStreamTCP"); su = median("plain BenchmarkStreamUnix"); sn = median("noip BenchmarkStreamTCP")
	bt = median("plain BenchmarkStreamBigTCP"); bu = median("plain BenchmarkStreamBigUnix"); bn = median("noip BenchmarkStreamBigTCP")
	nt = median("plain BenchmarkNotifiedCall"); nn = median("noip BenchmarkNotifiedCall")
	ot = median("plain BenchmarkOpenClose"); on = median("noip BenchmarkOpenClose"); ou = median("uopen BenchmarkOpenClose")
	dt = median("plain BenchmarkUDPRoundTrip"); du = median("plain BenchmarkUnixgramRoundTrip"); dn = median("noip BenchmarkUDPRoundTrip")
	lt = median("plain BenchmarkLaunchTrue"); ln = median("plain BenchmarkLaunchNoipTrue")
	printf "\n%-38s %10s %10s %10s\n", "median of " cnt["plain BenchmarkConnectTCP"] " runs", "TCP", "Unix", "noip"
	printf "%-38s %10.0f %10.0f %10.0f\n", "connections/s, Go net", 1e9/ct, 1e9/cu, 1e9/cn
	printf "%-38s %10.0f %10.0f %10.0f\n", "connections/s, bare syscalls", 1e9/rt, 1e9/ru, 1e9/rn
	printf "%-38s %10.0f %10.0f %10.0f\n", "stream MB/s (64 KiB writes)", 65536e3/st, 65536e3/su, 65536e3/sn
	printf "%-38s %10.0f %10.0f %10.0f\n", "stream MB/s (1 MiB writes)", 1048576e3/bt, 1048576e3/bu, 1048576e3/bn
	printf "%-38s %10.0f %10.0f %10.0f\n", "datagram round trips/s", 1e9/dt, 1e9/du, 1e9/dn
	printf "%-38s %10.2f %10s %10.2f\n", "setsockopt, us", nt/1e3, "", nn/1e3
	printf "\n%-38s %8.2fx  (goal >= 1.0)\n", "connection rate noip/TCP, Go net", ct/cn
	printf "%-38s %8.2fx  (goal >= 1.0)\n", "connection rate noip/TCP, bare", rt/rn
	printf "%-38s %8.2fx  (goal >= 1.5)\n", "throughput noip/TCP, 64 KiB writes", st/sn
	printf "%-38s %8.2fx  (goal >= 1.5)\n", "throughput noip/TCP, 1 MiB writes", bt/bn
	printf "%-38s %8.2fx  (goal >= 1.0)\n", "UDP round trips noip/UDP", dt/dn
	printf "%-38s %8.2f us (plain %.2f us, noip %.2f us, uopen %.2f us; goal <= +5 us)\n", "open+close under uopen, extra", (ou-ot)/1e3, ot/1e3, on/1e3, ou/1e3
	if (cnt["old BenchmarkConnectTCP"] > 0)
		printf "%-38s %8.2fx  (Go net %.2fx)\n", "connection rate this/NOIP_BASELINE, bare", median("old BenchmarkConnectRawTCP")/rn, median("old BenchmarkConnectTCP")/cn
	printf "%-38s %8.2f ms (true %.2f ms, noip true %.2f ms; goal <= 3 ms)\n", "launch overhead", (ln-lt)/1e6, lt/1e6, ln/1e6
}' "$out/raw.txt"
