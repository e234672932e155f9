package sockdir

import (
	"os"
	"strconv"
	"strings"
)

// Owner is a process holding a socket.
type Owner struct {
	Pid  int
	Comm string
}

// Owners finds, for each socket inode asked for, a process that holds it,
// among the processes whose fds this user may read (/proc/PID/fd). Sockets
// held only by others' processes, or by non-dumpable ones, are missing.
// A noip supervisor holds its programs' sockets now and then (while it
// waits for a connection on a program's behalf): the program is named,
// not the supervisor.
func Owners(inos map[uint32]bool) map[uint32]Owner {
	out := make(map[uint32]Owner)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir("/proc/" + p.Name() + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name())
			if err != nil {
				continue
			}
			s, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 32)
			if err != nil || !inos[uint32(ino)] {
				continue
			}
			if _, seen := out[uint32(ino)]; !seen && !isSupervisor(p.Name()) {
				comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
				out[uint32(ino)] = Owner{Pid: pid, Comm: strings.TrimSpace(string(comm))}
			}
		}
	}
	return out
}

// SupervisorName is argv[0] (and comm) of a noip supervisor.
const SupervisorName = "noip-supervisor"

func isSupervisor(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return argv0 == SupervisorName
}
