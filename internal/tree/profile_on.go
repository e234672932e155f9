//go:build noipprof

package tree

import (
	"os"
	"runtime/pprof"
)

// profile writes a CPU profile of the supervisor to $NOIP_CPUPROFILE, for
// developers: go build -tags noipprof ./cmd/noip; go tool pprof.
func profile() (stop func()) {
	path := os.Getenv("NOIP_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	pprof.StartCPUProfile(f)
	return pprof.StopCPUProfile
}
