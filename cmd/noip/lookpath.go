package main

import (
	"errors"
	"os"
	"os/exec"
)

// lookPath resolves a command like a shell, reporting a missing one as
// os.ErrNotExist.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrNotFound) {
		return "", os.ErrNotExist
	}
	return p, err
}
