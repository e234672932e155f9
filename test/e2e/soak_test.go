package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// soakScript runs, under one noip, for SECONDS seconds and at least the
// counts given: TCP connections to a server thread (each a number sent
// and echoed), UDP datagrams echoed by a server thread, and short-lived
// processes that each make a connection of their own. It reports at its
// start (after a warm-up) and end, waiting for a line each time so that
// the test can look at the supervisor.
const soakScript = `
import os, socket, sys, threading, time
P, SECONDS, CONNS, GRAMS, PROCS = map(int, sys.argv[1:6])
print("sup", os.getppid(), flush=True)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", P)); l.listen(128)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", P))
def tcpserve():
    while True:
        c, _ = l.accept()
        c.sendall(c.recv(8)); c.close()
def udpserve():
    while True:
        b, a = u.recvfrom(8); u.sendto(b, a)
threading.Thread(target=tcpserve, daemon=True).start()
threading.Thread(target=udpserve, daemon=True).start()
conns = grams = procs = lost = 0
def conn(i):
    c = socket.create_connection(("127.0.0.1", P)); b = str(i % 10**7).encode()
    c.sendall(b); ok = c.recv(8) == b; c.close(); return ok
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.settimeout(5)
def gram(i):
    b = str(i % 10**7).encode(); d.sendto(b, ("127.0.0.1", P))
    try: return d.recvfrom(8)[0] == b
    except socket.timeout: return False
for i in range(200): conn(i); gram(i)
print("warm", flush=True); sys.stdin.readline()
start = time.time()
while time.time() - start < SECONDS or conns < CONNS or grams < GRAMS or procs < PROCS:
    for _ in range(50):
        lost += not conn(conns); conns += 1
        lost += not gram(grams); grams += 1
    if procs < PROCS or time.time() - start < SECONDS:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if conn(0) else 1)
        _, st = os.waitpid(pid, 0); procs += 1; lost += st != 0
print("done", conns, grams, procs, lost, flush=True); sys.stdin.readline()
`

// TestSoak runs soakScript for 10 s (NOIP_SOAK_SECONDS, 60 in bench/soak.sh,
// with 10,000 connections, 10,000 datagrams and 100 processes at least):
// nothing may be lost, and the supervisor's fds and memory must not grow
// with the work done.
func TestSoak(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the supervisor is not dumpable, so only root reads its fds and memory")
	}
	seconds, conns, grams, procs := 10, 3000, 3000, 30
	if s := os.Getenv("NOIP_SOAK_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
		conns, grams, procs = 10000, 10000, 100
	}
	port := 20000 + rand.IntN(10000)
	p := startFault(t, soakScript, nil, strconv.Itoa(port), strconv.Itoa(seconds), strconv.Itoa(conns), strconv.Itoa(grams), strconv.Itoa(procs))
	sup, _ := strconv.Atoi(p.line("sup "))
	p.line("warm")
	fd0, rss0 := fdCount(t, sup), rssKB(t, sup)
	p.next()
	f := strings.Fields(p.line("done "))
	fd1, rss1 := fdCount(t, sup), rssKB(t, sup)
	p.next()
	var got [4]int
	for i := range got {
		got[i], _ = strconv.Atoi(f[i])
	}
	t.Logf("%d s: %d connections, %d datagrams, %d processes, %d lost; supervisor fds %d -> %d, RSS %d kB -> %d kB",
		seconds, got[0], got[1], got[2], got[3], fd0, fd1, rss0, rss1)
	fmt.Fprintf(os.Stderr, "soak: %d s: %d connections, %d datagrams, %d processes, %d lost; supervisor fds %d -> %d, RSS %d kB -> %d kB\n",
		seconds, got[0], got[1], got[2], got[3], fd0, fd1, rss0, rss1)
	if got[0] < conns || got[1] < grams || got[2] < procs {
		t.Errorf("did %v, want %d connections, %d datagrams, %d processes", got[:3], conns, grams, procs)
	}
	if got[3] != 0 {
		t.Errorf("%d lost", got[3])
	}
	// Twins of closed sockets wait for the table's prune (at 1024
	// sockets): bounded, not growing with the work.
	if fd1 > fd0+1100 {
		t.Errorf("supervisor fds grew from %d to %d", fd0, fd1)
	}
	if rss1 > 2*rss0+64*1024 {
		t.Errorf("supervisor RSS grew from %d kB to %d kB", rss0, rss1)
	}
}

func rssKB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}
