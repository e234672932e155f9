// Package bench measures noip side by side with its baselines. The same
// benchmarks run twice from run.sh: once plain (TCP loopback and Unix
// sockets), once under noip (where TCP is plastic), and run.sh reports the
// ratios. Nothing here asserts on time.
package bench

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// listen returns a listener for network "tcp" (127.0.0.1:0) or "unix" (a
// socket in a temporary directory).
func listen(b *testing.B, network string) net.Listener {
	b.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(b.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln
}

// benchConnect measures connect+accept+close: one client and one server
// goroutine, one connection at a time.
func benchConnect(b *testing.B, network string) {
	ln := listen(b, network)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	b.ResetTimer()
	for b.Loop() {
		c, err := net.Dial(network, addr)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkConnectTCP(b *testing.B)  { benchConnect(b, "tcp") }
func BenchmarkConnectUnix(b *testing.B) { benchConnect(b, "unix") }

// benchStream measures one connection's throughput in 64 KiB writes.
func benchStream(b *testing.B, network string) {
	ln := listen(b, network)
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		done <- err
	}()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkStreamTCP(b *testing.B)  { benchStream(b, "tcp") }
func BenchmarkStreamUnix(b *testing.B) { benchStream(b, "unix") }

// benchLaunch measures starting and finishing a command: `true`, or
// `noip true` when NOIP_BENCH_NOIP names the noip binary.
func benchLaunch(b *testing.B, argv ...string) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		b.Skipf("%s: %v", argv[0], err)
	}
	for b.Loop() {
		cmd := exec.Command(path, argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLaunchTrue(b *testing.B) { benchLaunch(b, "true") }

func BenchmarkLaunchNoipTrue(b *testing.B) {
	noip := os.Getenv("NOIP_BENCH_NOIP")
	if noip == "" {
		b.Skip("set NOIP_BENCH_NOIP to the noip binary (run.sh does)")
	}
	benchLaunch(b, noip, "true")
}
