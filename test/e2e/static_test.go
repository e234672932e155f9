package e2e

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStaticBinary: noip is one static binary with no cgo, even when built
// with cgo available: nothing it links may pull in the C resolver (the net
// package does), which would also slow every launch.
func TestStaticBinary(t *testing.T) {
	// Built here, without -race: the race detector itself needs cgo.
	bin := filepath.Join(t.TempDir(), "noip")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/noip")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("noip has a program interpreter: it is dynamically linked (did something import net or os/user?)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("noip links %v", libs)
	}
}
