package seccomp

import (
	"fmt"
	"strings"

	"golang.org/x/net/bpf"
)

// Action is a seccomp filter return value.
type Action uint32

// Filter return values (SECCOMP_RET_*).
const (
	Allow       Action = 0x7fff0000
	Notify      Action = 0x7fc00000
	KillProcess Action = 0x80000000
	retErrno    Action = 0x00050000
)

// Errno returns the action that fails a call with errno e without running it.
func Errno(e uint16) Action { return retErrno | Action(e) }

func (a Action) String() string {
	switch {
	case a == Allow:
		return "allow"
	case a == Notify:
		return "notify"
	case a == KillProcess:
		return "kill"
	case a&0xffff0000 == retErrno:
		return fmt.Sprintf("errno(%d)", a&0xffff)
	}
	return fmt.Sprintf("action(%#x)", uint32(a))
}

// ArgTest is a condition on one system-call argument.
type ArgTest interface {
	String() string
	// emit appends instructions that fall through when the test holds and
	// jump to fail otherwise.
	emit(p *program, fail label)
}

// Low32In holds when the low 32 bits of argument Arg are one of Values.
// Only the low half is compared because the kernel truncates int arguments
// (domain, level, optname) to 32 bits: a program could set the high half to
// anything.
type Low32In struct {
	Arg    int
	Values []uint32
}

func (t Low32In) String() string {
	vs := make([]string, len(t.Values))
	for i, v := range t.Values {
		vs[i] = fmt.Sprint(v)
	}
	return fmt.Sprintf("arg%d&0xffffffff in {%s}", t.Arg, strings.Join(vs, ","))
}

func (t Low32In) emit(p *program, fail label) {
	ok := p.newLabel()
	p.load(argLow(t.Arg))
	for _, v := range t.Values {
		p.jeq(v, ok, noLabel)
	}
	p.jump(fail)
	p.bind(ok)
}

// BitsSet holds when the low 32 bits of argument Arg have any of Mask's
// bits set.
type BitsSet struct {
	Arg  int
	Mask uint32
}

func (t BitsSet) String() string { return fmt.Sprintf("arg%d&%#x != 0", t.Arg, t.Mask) }

func (t BitsSet) emit(p *program, fail label) {
	ok := p.newLabel()
	p.load(argLow(t.Arg))
	p.jset(t.Mask, ok, fail)
	p.bind(ok)
}

// NonZero holds when argument Arg (a pointer) is not NULL.
type NonZero struct{ Arg int }

func (t NonZero) String() string { return fmt.Sprintf("arg%d != 0", t.Arg) }

func (t NonZero) emit(p *program, fail label) {
	ok := p.newLabel()
	p.load(argLow(t.Arg))
	p.jeq(0, noLabel, ok)
	p.load(argLow(t.Arg) + 4)
	p.jeq(0, fail, ok)
	p.bind(ok)
}

// Case is a conjunction of argument tests and the action taken when all of
// them hold.
type Case struct {
	When []ArgTest
	Then Action
}

// Rule says what happens to one system call: the first Case that holds
// decides, else Else.
type Rule struct {
	Syscall string
	Cases   []Case
	Else    Action
}

func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Syscall + ":")
	for _, c := range r.Cases {
		tests := make([]string, len(c.When))
		for i, t := range c.When {
			tests[i] = t.String()
		}
		fmt.Fprintf(&b, " if %s then %v;", strings.Join(tests, " && "), c.Then)
	}
	fmt.Fprintf(&b, " else %v", r.Else)
	return b.String()
}

// Always is a Rule that takes action a for every call of name.
func Always(name string, a Action) Rule { return Rule{Syscall: name, Else: a} }

// Policy is the whole filter: per-ABI rule lists. Calls without a rule are
// allowed; an ABI without an entry is killed, so that no entry point the
// policy did not think about can bypass it.
type Policy struct {
	ABIs []ABIRules
}

// ABIRules are the rules for one ABI.
type ABIRules struct {
	Arch  *Arch
	Rules []Rule
}

// offsets in struct seccomp_data
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// argLow is the offset of the low 32 bits of argument i: both supported
// architectures are little-endian.
func argLow(i int) uint32 { return offArgs + 8*uint32(i) }

// Build assembles the policy into classic BPF. It is pure: no system calls.
func Build(pol Policy) ([]bpf.RawInstruction, error) {
	prog, err := compile(pol)
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(prog)
}

func compile(pol Policy) ([]bpf.Instruction, error) {
	p := &program{}
	p.load(offArch)
	// Same audit arch may carry two ABIs (x86-64 and x32); their blocks are
	// chained by the nr test inside abiBlock.
	type archGroup struct {
		audit uint32
		abis  []ABIRules
		entry label
	}
	var groups []*archGroup
	for _, abi := range pol.ABIs {
		var g *archGroup
		for _, x := range groups {
			if x.audit == abi.Arch.Audit {
				g = x
			}
		}
		if g == nil {
			g = &archGroup{audit: abi.Arch.Audit, entry: p.newLabel()}
			groups = append(groups, g)
		}
		g.abis = append(g.abis, abi)
	}
	for _, g := range groups {
		p.jeq(g.audit, g.entry, noLabel)
	}
	p.ret(KillProcess)
	for _, g := range groups {
		p.bind(g.entry)
		p.load(offNr)
		// x32 numbers have bit 30 set: send them to their own rules
		// before the x86-64 ones, so they can never match a 64-bit number.
		var split label = noLabel
		if len(g.abis) == 2 {
			split = p.newLabel()
			hi := g.abis[1]
			lo := g.abis[0]
			if lo.Arch.NrBase != 0 {
				lo, hi = hi, lo
			}
			p.jset(x32Bit, split, noLabel)
			if err := p.rules(lo); err != nil {
				return nil, err
			}
			p.bind(split)
			p.load(offNr)
			if err := p.rules(hi); err != nil {
				return nil, err
			}
			continue
		}
		if len(g.abis) > 2 {
			return nil, fmt.Errorf("seccomp: %d ABIs share audit arch %#x", len(g.abis), g.audit)
		}
		if err := p.rules(g.abis[0]); err != nil {
			return nil, err
		}
	}
	return p.finish()
}

// rules emits one ABI's rules; the accumulator holds nr on entry.
func (p *program) rules(abi ABIRules) error {
	for _, r := range abi.Rules {
		nr, ok := abi.Arch.Number(r.Syscall)
		if !ok {
			return fmt.Errorf("seccomp: %s has no syscall %q", abi.Arch.Name, r.Syscall)
		}
		next := p.newLabel()
		p.jeq(nr, noLabel, next)
		for _, c := range r.Cases {
			nextCase := p.newLabel()
			for _, t := range c.When {
				t.emit(p, nextCase)
			}
			p.ret(c.Then)
			p.bind(nextCase)
		}
		p.ret(r.Else)
		p.bind(next)
		p.load(offNr)
	}
	p.ret(Allow)
	return nil
}

// program is a tiny assembler with forward labels, because classic BPF only
// jumps forward and conditional jumps reach at most 255 instructions.
type program struct {
	ins    []bpf.Instruction
	fixups []fixup
	labels []int // label -> instruction index, -1 until bound
}

type label int

const noLabel label = -1

type fixup struct {
	at     int
	jt, jf label
	always label
}

func (p *program) newLabel() label {
	p.labels = append(p.labels, -1)
	return label(len(p.labels) - 1)
}

func (p *program) bind(l label) { p.labels[l] = len(p.ins) }

func (p *program) load(off uint32) {
	p.ins = append(p.ins, bpf.LoadAbsolute{Off: off, Size: 4})
}

func (p *program) ret(a Action) { p.ins = append(p.ins, bpf.RetConstant{Val: uint32(a)}) }

// jeq jumps to jt if A == v, else to jf; noLabel falls through.
func (p *program) jeq(v uint32, jt, jf label) {
	p.fixups = append(p.fixups, fixup{at: len(p.ins), jt: jt, jf: jf, always: noLabel})
	p.ins = append(p.ins, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
}

// jset jumps to jt if A & v != 0, else to jf.
func (p *program) jset(v uint32, jt, jf label) {
	p.fixups = append(p.fixups, fixup{at: len(p.ins), jt: jt, jf: jf, always: noLabel})
	p.ins = append(p.ins, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: v})
}

func (p *program) jump(to label) {
	p.fixups = append(p.fixups, fixup{at: len(p.ins), jt: noLabel, jf: noLabel, always: to})
	p.ins = append(p.ins, bpf.Jump{})
}

func (p *program) finish() ([]bpf.Instruction, error) {
	skip := func(from int, l label) (int, error) {
		if l == noLabel {
			return 0, nil
		}
		to := p.labels[l]
		if to < 0 {
			return 0, fmt.Errorf("seccomp: unbound label %d", l)
		}
		if to <= from {
			return 0, fmt.Errorf("seccomp: backward jump %d -> %d", from, to)
		}
		return to - from - 1, nil
	}
	for _, f := range p.fixups {
		if f.always != noLabel {
			s, err := skip(f.at, f.always)
			if err != nil {
				return nil, err
			}
			p.ins[f.at] = bpf.Jump{Skip: uint32(s)}
			continue
		}
		jt, err := skip(f.at, f.jt)
		if err != nil {
			return nil, err
		}
		jf, err := skip(f.at, f.jf)
		if err != nil {
			return nil, err
		}
		if jt > 255 || jf > 255 {
			return nil, fmt.Errorf("seccomp: conditional jump too far at %d", f.at)
		}
		j := p.ins[f.at].(bpf.JumpIf)
		j.SkipTrue, j.SkipFalse = uint8(jt), uint8(jf)
		p.ins[f.at] = j
	}
	if len(p.ins) > 4096 {
		return nil, fmt.Errorf("seccomp: filter has %d instructions, limit 4096", len(p.ins))
	}
	return p.ins, nil
}
