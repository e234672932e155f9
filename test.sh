#!/usr/bin/env bash
# Runs every test of noip, with the race detector, against the real programs
# the scenarios use; installs those programs first (Debian packages) when
# they are missing. Prints the test runner's summary at the end.
set -euo pipefail
cd "$(dirname "$0")"

# command (or, for a package without one, a file) -> Debian package that
# provides it. The second group is for the manual pages, completions and
# .deb tests (man/, completions/, packaging/).
declare -A pkgs=(
	[python3]=python3 [curl]=curl [socat]=socat [tmux]=tmux [ss]=iproute2
	[setpriv]=util-linux [sshd]=openssh-server [ssh]=openssh-client
	[javac]=default-jdk-headless
	[groff]=groff-base [mandoc]=mandoc [man]=man-db [lintian]=lintian
	[dpkg-deb]=dpkg [make]=make [zsh]=zsh [fish]=fish
	[/usr/share/bash-completion/bash_completion]=bash-completion
	[nginx]=nginx [redis-server]=redis-server [chromium]=chromium
	[dnsmasq]=dnsmasq-base [dig]=bind9-dnsutils [memcached]=memcached
	[iperf3]=iperf3 [/usr/games/fortune]=fortune-mod [emacs]=emacs-nox
	[less]=less [gcc]=gcc [mkfs.ext2]=e2fsprogs [strace]=strace
)
# The escape suite builds a 32-bit probe on x86-64.
if [ "$(uname -m)" = x86_64 ]; then pkgs[/usr/include/x86_64-linux-gnu/gnu/stubs-32.h]=gcc-multilib; fi
missing=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -f "$cmd" ] || missing+=("${pkgs[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing test dependencies: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -race -count=1 -timeout 30m -v ./... >"$log" 2>&1 || status=$?
grep -aE '^(ok|FAIL|---|panic:|\?)' "$log" | grep -v -- '--- PASS' || true
if [ $status -ne 0 ]; then
	echo; echo "== failures, in full =="
	grep -a -B2 -A60 -E -- '--- FAIL' "$log" | head -400 || tail -100 "$log"
fi
pass=$(grep -acE -- '^\s*--- PASS' "$log" || true)
fail=$(grep -acE -- '^\s*--- FAIL' "$log" || true)
skip=$(grep -acE -- '^\s*--- SKIP' "$log" || true)
echo
echo "== summary: $pass passed, $fail failed, $skip skipped (go test -race ./...) =="
exit $status
