package seccomp

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// seccompData encodes a struct seccomp_data for the x/net/bpf VM. The VM
// loads words big-endian (it is made for packets), while seccomp loads them
// in the host's order; so each 32-bit word is stored big-endian here and
// the program sees the values the kernel would show it.
func seccompData(arch uint32, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

func run(t *testing.T, prog []bpf.Instruction, in []byte) Action {
	t.Helper()
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("NewVM: %v\n%s", err, disasm(prog))
	}
	out, err := vm.Run(in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return Action(uint32(out))
}

func disasm(prog []bpf.Instruction) string {
	var b strings.Builder
	for i, in := range prog {
		fmt.Fprintf(&b, "%3d: %v\n", i, in)
	}
	return b.String()
}

func TestCompile(t *testing.T) {
	pol := Policy{ABIs: []ABIRules{
		{Arch: X86_64, Rules: []Rule{
			{Syscall: "socket", Cases: []Case{{When: []ArgTest{Low32In{Arg: 0, Values: []uint32{2, 10}}}, Then: Notify}}, Else: Allow},
			{Syscall: "sendto", Cases: []Case{{When: []ArgTest{NonZero{Arg: 4}}, Then: Notify}}, Else: Allow},
			{Syscall: "setsockopt", Cases: []Case{
				{When: []ArgTest{Low32In{Arg: 1, Values: []uint32{6}}}, Then: Notify},
				{When: []ArgTest{Low32In{Arg: 1, Values: []uint32{1}}, Low32In{Arg: 2, Values: []uint32{15}}}, Then: Notify},
			}, Else: Allow},
			Always("connect", Notify),
			Always("io_uring_setup", Errno(38)),
		}},
		{Arch: X32, Rules: []Rule{Always("connect", Errno(97))}},
		{Arch: I386, Rules: []Rule{Always("socketcall", Notify)}},
	}}
	prog, err := compile(pol)
	if err != nil {
		t.Fatal(err)
	}
	const x64, i386 = auditArchX86_64, auditArchI386
	tests := []struct {
		desc string
		in   []byte
		want Action
	}{
		{"socket AF_INET", seccompData(x64, 41, 2, 1, 0), Notify},
		{"socket AF_INET6", seccompData(x64, 41, 10, 1, 0), Notify},
		{"socket AF_UNIX", seccompData(x64, 41, 1, 1, 0), Allow},
		{"socket AF_INET with high bits set", seccompData(x64, 41, 0xffffffff00000002, 1, 0), Notify},
		{"socket AF_UNIX looking like AF_INET in high bits", seccompData(x64, 41, 0x200000001, 1, 0), Allow},
		{"sendto with address", seccompData(x64, 44, 3, 0, 0, 0, 0x7ffe0000, 16), Notify},
		{"sendto with high-only address", seccompData(x64, 44, 3, 0, 0, 0, 0x100000000, 16), Notify},
		{"sendto without address", seccompData(x64, 44, 3, 0, 0, 0, 0, 0), Allow},
		{"setsockopt TCP", seccompData(x64, 54, 3, 6, 1), Notify},
		{"setsockopt SOL_SOCKET SO_REUSEPORT", seccompData(x64, 54, 3, 1, 15), Notify},
		{"setsockopt SOL_SOCKET SO_REUSEADDR", seccompData(x64, 54, 3, 1, 2), Allow},
		{"connect", seccompData(x64, 42), Notify},
		{"io_uring_setup", seccompData(x64, 425), Errno(38)},
		{"read", seccompData(x64, 0), Allow},
		{"x32 connect", seccompData(x64, 42|x32Bit), Errno(97)},
		{"x32 socket", seccompData(x64, 41|x32Bit, 2), Allow},
		{"i386 socketcall", seccompData(i386, 102, 1), Notify},
		{"i386 connect", seccompData(i386, 362), Allow},
		{"unknown arch", seccompData(auditArchARM, 281, 2), KillProcess},
	}
	for _, tt := range tests {
		if got := run(t, prog, tt.in); got != tt.want {
			t.Errorf("%s: filter = %v, want %v\n%s", tt.desc, got, tt.want, disasm(prog))
		}
	}
}

func TestCompileUnknownSyscall(t *testing.T) {
	_, err := compile(Policy{ABIs: []ABIRules{{Arch: AArch64, Rules: []Rule{Always("socketcall", Notify)}}}})
	if err == nil {
		t.Error("compile accepted socketcall on aarch64, which has none")
	}
}

func TestRuleString(t *testing.T) {
	r := Rule{Syscall: "socket", Cases: []Case{{When: []ArgTest{Low32In{Arg: 0, Values: []uint32{2, 10}}}, Then: Notify}}, Else: Allow}
	want := "socket: if arg0&0xffffffff in {2,10} then notify; else allow"
	if got := r.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
