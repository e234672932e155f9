package seccomp

// Native is the ABI noip's own binary runs in; Compat are the other ABIs the
// same kernel accepts from a process, which the filter must cover too.
var (
	Native = AArch64
	Compat = []*Arch{ARM}
)
