package supervise

import (
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"noip/internal/tracee"
)

// Killable mode. With WAIT_KILLABLE_RECV a call the supervisor has taken
// is interrupted only by a fatal signal: every answer it gets is the one
// the program sees, so nothing noip did for it (a datagram sent or
// consumed, a connection made) is lost to a signal or done twice. Other
// signals stay pending meanwhile. That is right for the calls noip
// answers at once; a call that waits (a blocking accept, a receive, a
// connect to a full backlog) must still let its thread's signals in. So
// the loop looks at the waiting calls' threads now and then (from 2 ms,
// backing off to 50 ms) and answers a call whose thread has a signal to
// take with ERESTARTSYS: the kernel then runs the handler and restarts
// the call (SA_RESTART) or fails it with EINTR, exactly as for a call it
// had interrupted itself. Whatever the wait would have done is undone by
// its gone function, as for a call that went away.

// erestartsys is the kernel's "interrupted: restart or EINTR" (never seen
// by programs).
const erestartsys = unix.Errno(512)

// restart answers an interrupted call.
func restart() Result { return Fail(erestartsys) }

const (
	signalCheckFirst = 2 * time.Millisecond
	signalCheckMax   = 50 * time.Millisecond
)

// sigCheck is when a waiting call's thread is next looked at.
type sigCheck struct {
	next  time.Time
	every time.Duration
}

func (s *sigCheck) due(now time.Time) bool {
	if s.every == 0 {
		s.every, s.next = signalCheckFirst, now.Add(signalCheckFirst)
		return false
	}
	if now.Before(s.next) {
		return false
	}
	s.every = min(2*s.every, signalCheckMax)
	s.next = now.Add(s.every)
	return true
}

// signalled reports whether thread tid has a signal it will take as soon
// as its call returns: one sent to it, or one sent to its process that no
// other thread can take now. The kernel gives a process's signal to one
// of its threads that does not block it, and wakes that thread only if it
// sleeps interruptibly; one held in a supervised call sleeps killably
// and would keep it pending. So a shared signal interrupts tid's call
// unless another thread, running or sleeping interruptibly ("R", "S")
// but not in a notified call, does not block it. If several held threads of the process could
// take it, each is interrupted: one takes the signal, the others restart
// their calls unseen (ERESTARTSYS with no signal to take restarts).
func signalled(tid int) bool {
	st, err := tracee.ReadStatus(tid)
	if err != nil {
		return false
	}
	blocked := st.SigBlk | st.SigIgn
	if st.SigPnd&^blocked != 0 {
		return true
	}
	shared := st.ShdPnd &^ blocked
	if shared == 0 {
		return false
	}
	if st.Threads == 1 {
		return true
	}
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(tid) + "/task")
	for _, e := range tasks {
		other, err := strconv.Atoi(e.Name())
		if err != nil || other == tid {
			continue
		}
		ot, err := tracee.ReadStatus(other)
		if err != nil {
			continue
		}
		// A thread held in a notified call shows "S" until a signal
		// comes, and then goes on waiting without taking it.
		if (ot.State == 'R' || ot.State == 'S') && shared&^ot.SigBlk != 0 && !tracee.HeldBySeccomp(other) {
			return false
		}
	}
	return true
}

// goCalls are the calls answered by goroutines (Go), which the loop also
// interrupts for signals.
type goCalls struct {
	mu    sync.Mutex
	calls map[*Call]*sigCheck
}

func (g *goCalls) add(c *Call) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[*Call]*sigCheck)
	}
	g.calls[c] = &sigCheck{}
	g.mu.Unlock()
}

func (g *goCalls) remove(c *Call) {
	g.mu.Lock()
	delete(g.calls, c)
	g.mu.Unlock()
}

func (g *goCalls) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// interruptSignalled answers, with ERESTARTSYS, the waiting calls whose
// threads have a signal to take (killable mode only).
func (sv *Supervisor) interruptSignalled() {
	if !sv.killable {
		return
	}
	now := time.Now()
	keep := sv.waits[:0]
	for _, w := range sv.waits {
		if w.sig.due(now) && signalled(w.c.Tid()) {
			if w.gone != nil {
				w.gone()
			}
			w.c.Answer(restart())
			continue
		}
		keep = append(keep, w)
	}
	clear(sv.waits[len(keep):])
	sv.waits = keep
	pk := sv.parked[:0]
	for _, p := range sv.parked {
		if p.sig.due(now) && signalled(p.c.Tid()) {
			p.c.Answer(restart())
			continue
		}
		pk = append(pk, p)
	}
	clear(sv.parked[len(pk):])
	sv.parked = pk
	var hit []*Call
	sv.gos.mu.Lock()
	for c, s := range sv.gos.calls {
		if s.due(now) && signalled(c.Tid()) {
			hit = append(hit, c)
			delete(sv.gos.calls, c)
		}
	}
	sv.gos.mu.Unlock()
	for _, c := range hit {
		// The goroutine sees Answered and stops; what it still
		// delivers is undone by its result's Gone.
		c.Answer(restart())
	}
}

// nextSignalCheck is how long the loop may sleep before interruptSignalled
// has work.
func (sv *Supervisor) nextSignalCheck() time.Duration {
	if !sv.killable {
		return signalCheckMax
	}
	now := time.Now()
	d := signalCheckMax
	for _, w := range sv.waits {
		d = min(d, untilCheck(&w.sig, now))
	}
	for _, p := range sv.parked {
		d = min(d, untilCheck(&p.sig, now))
	}
	sv.gos.mu.Lock()
	for _, s := range sv.gos.calls {
		d = min(d, untilCheck(s, now))
	}
	sv.gos.mu.Unlock()
	return d
}

func untilCheck(s *sigCheck, now time.Time) time.Duration {
	if s.every == 0 {
		return signalCheckFirst
	}
	return max(0, s.next.Sub(now))
}
