//go:build !noipprof

package tree

// profile starts a CPU profile of the supervisor in builds tagged noipprof
// (see profile_on.go); in others it does nothing, and runtime/pprof stays
// out of the binary.
func profile() (stop func()) { return func() {} }
