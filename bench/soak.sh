#!/usr/bin/env bash
# The long soak: one noip tree for 60 s (or $1 seconds) and at least 10,000
# TCP connections, 10,000 UDP datagrams and 100 short-lived processes;
# prints what it did, what was lost (must be 0), and the supervisor's fd
# count and RSS before and after. The test suite runs a 10 s variant.
# Run as root (it runs the program as an unprivileged user and reads the
# supervisor's /proc entries).
set -euo pipefail
cd "$(dirname "$0")/.."
NOIP_SOAK_SECONDS=${1:-60} go test -count=1 -run '^TestSoak$' -v -timeout 30m ./test/e2e 2>&1 | grep -E '^soak:|^(ok|FAIL|---)'
