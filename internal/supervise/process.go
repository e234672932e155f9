package supervise

import (
	"os"

	"noip/internal/tracee"
)

// Process is one served process (a thread group), as the supervisor tracks
// it so that a policy can keep per-process state, such as settings, that
// follows the kernel's rules for process state:
//
//   - a new process starts with its parent's state, as it was when it was
//     forked (children that exist when their parent executes a new program
//     keep the old state);
//   - a successful execve, from any thread, replaces it for the whole
//     process, a failed one leaves it as it was.
//
// Data is the policy's, opaque here.
type Process struct {
	Pid   int
	start uint64 // with Pid, names this process for the machine's life

	data any
	// pending is the state an execve in progress brings, adopted once the
	// process's old memory is gone (the execve succeeded).
	pending *pendingExec
}

type pendingExec struct {
	data  any
	tid   int // the thread that called execve
	watch *tracee.MemWatch
}

// Data returns the process's state.
func (p *Process) Data() any {
	p.settle()
	return p.data
}

// SetData replaces the process's state (from the loop).
func (p *Process) SetData(data any) {
	p.settle()
	p.data = data
}

// settle adopts a pending execve's state once the execve has succeeded.
func (p *Process) settle() {
	if p.pending != nil && p.pending.watch.Replaced() {
		p.data = p.pending.data
		p.drop()
	}
}

func (p *Process) drop() {
	if p.pending != nil {
		p.pending.watch.Close()
		p.pending = nil
	}
}

// Exec records that the calling thread is executing a new program with
// state data: children forked until now keep the current state, and the
// process takes data if and when the execve succeeds. Call it from an
// execve handler, before the call is answered.
func (c *Call) Exec(data any) {
	p := c.process
	if p == nil {
		return
	}
	sv := c.sv
	// Children not seen yet keep the state they were forked with.
	for _, child := range tracee.Children(p.Pid) {
		if q := sv.liveProcess(child); q == nil {
			sv.addProcess(child, sv.inherit(p.Data()))
		}
	}
	p.drop()
	// The execve's own path argument is mapped in the old image: reading
	// it through a handle on that image tells whether it is still there.
	addr := c.Arg(0)
	if c.Name == "execveat" {
		addr = c.Arg(1)
	}
	ppid := 0
	if st, err := tracee.ReadStatus(c.Tid()); err == nil {
		ppid = st.PPid
	}
	w, err := tracee.WatchMem(c.Tid(), p.Pid, ppid, addr)
	if err != nil {
		// A non-dumpable process: assume the execve succeeds, as nearly
		// every execve that gets this far does.
		p.data = data
		return
	}
	p.pending = &pendingExec{data: data, tid: c.Tid(), watch: w}
}

// Process returns the calling process, or nil for a call whose process
// could not be found (it is exiting).
func (c *Call) Process() *Process { return c.process }

// processOf returns the process of thread t, finding it (and its inherited
// state) on the thread's first call.
func (sv *Supervisor) processOf(t *tracee.Proc) *Process {
	if p, ok := t.Data().(*Process); ok {
		return p
	}
	st, err := tracee.ReadStatus(t.Tid)
	if err != nil {
		return nil
	}
	p := sv.liveProcess(st.Tgid)
	if p == nil {
		p = sv.addProcess(st.Tgid, sv.inherited(st.Tgid, st.PPid))
	}
	t.SetData(p)
	return p
}

// liveProcess returns the tracked process pid, if it is still the same
// process.
func (sv *Supervisor) liveProcess(pid int) *Process {
	p := sv.processes[pid]
	if p == nil {
		return nil
	}
	if start, err := tracee.StartTime(pid); err != nil || start != p.start {
		p.drop()
		delete(sv.processes, pid)
		return nil
	}
	return p
}

func (sv *Supervisor) addProcess(pid int, data any) *Process {
	start, _ := tracee.StartTime(pid)
	p := &Process{Pid: pid, start: start, data: data}
	sv.processes[pid] = p
	if len(sv.processes) >= sv.procsPruneAt {
		sv.pruneProcesses()
		sv.procsPruneAt = max(256, 2*len(sv.processes))
	}
	return p
}

// inherited is the state a new process pid starts with: its nearest
// tracked ancestor's. A process whose ancestors are gone (an orphan
// re-parented to the supervisor) gets what Orphan says.
func (sv *Supervisor) inherited(pid, ppid int) any {
	self := os.Getpid()
	for anc, hops := ppid, 0; anc > 1 && anc != self && hops < 64; hops++ {
		if p := sv.liveProcess(anc); p != nil {
			return sv.inherit(p.Data())
		}
		st, err := tracee.ReadStatus(anc)
		if err != nil {
			break
		}
		anc = st.PPid
	}
	if sv.Orphan != nil {
		return sv.Orphan(pid)
	}
	return nil
}

// pruneProcesses forgets processes that have exited.
func (sv *Supervisor) pruneProcesses() {
	for pid := range sv.processes {
		sv.liveProcess(pid)
	}
}

func (sv *Supervisor) inherit(data any) any {
	if sv.Inherit != nil {
		return sv.Inherit(data)
	}
	return data
}
