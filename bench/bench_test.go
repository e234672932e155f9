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
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// benchConnectRaw measures connect+accept+close with the fewest system
// calls, as a C program makes them: socket, connect, close on one side;
// accept4 (with the peer's address) and close on the other. Go's net
// package adds getsockname, getpeername and four socket options per end.
func benchConnectRaw(b *testing.B, network string) {
	ln := listen(b, network)
	lf, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		b.Fatal(err)
	}
	defer lf.Close()
	lfd := int(lf.Fd())
	unix.SetNonblock(lfd, false)
	var sa unix.Sockaddr
	family := unix.AF_INET
	switch a := ln.Addr().(type) {
	case *net.TCPAddr:
		sa = &unix.SockaddrInet4{Port: a.Port, Addr: [4]byte(a.IP.To4())}
	case *net.UnixAddr:
		sa, family = &unix.SockaddrUnix{Name: a.Name}, unix.AF_UNIX
	}
	go func() {
		// The raw call: x/sys's Accept4 also asks for SO_PROTOCOL.
		var rsa [128]byte
		for {
			n := uint32(len(rsa))
			fd, _, e := syscall.Syscall6(syscall.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa[0])), uintptr(unsafe.Pointer(&n)), unix.SOCK_CLOEXEC, 0, 0)
			if e != 0 {
				if e == syscall.EINTR {
					continue
				}
				return
			}
			unix.Close(int(fd))
		}
	}()
	for b.Loop() {
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := unix.Connect(fd, sa); err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
	unix.Shutdown(lfd, unix.SHUT_RDWR)
}

func BenchmarkConnectRawTCP(b *testing.B)  { benchConnectRaw(b, "tcp") }
func BenchmarkConnectRawUnix(b *testing.B) { benchConnectRaw(b, "unix") }

// benchStream measures one connection's throughput in writes of size n.
func benchStream(b *testing.B, network string, n int) {
	ln := listen(b, network)
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		// Large reads, as a real bulk receiver does; io.Copy to Discard
		// would read 8 KiB at a time and measure syscalls, not the socket.
		buf := make([]byte, 1<<20)
		for {
			if _, err = c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
		if err == io.EOF {
			err = nil
		}
		done <- err
	}()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, n)
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

func BenchmarkStreamTCP(b *testing.B)     { benchStream(b, "tcp", 64<<10) }
func BenchmarkStreamUnix(b *testing.B)    { benchStream(b, "unix", 64<<10) }
func BenchmarkStreamBigTCP(b *testing.B)  { benchStream(b, "tcp", 1<<20) }
func BenchmarkStreamBigUnix(b *testing.B) { benchStream(b, "unix", 1<<20) }

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

// BenchmarkNotifiedCall measures one call noip intercepts and answers
// itself (setsockopt TCP_NODELAY): under noip, the cost of a round trip to
// the supervisor; plain, the kernel's own.
func BenchmarkNotifiedCall(b *testing.B) {
	ln := listen(b, "tcp")
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	for b.Loop() {
		if err := tc.SetNoDelay(true); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUDP measures one datagram and its echo: a client and an echoing
// server goroutine on loopback.
func benchUDP(b *testing.B, network string) {
	var srv, cli net.PacketConn
	var to net.Addr
	var err error
	if network == "unixgram" {
		dir := b.TempDir()
		srv, err = net.ListenPacket("unixgram", filepath.Join(dir, "s"))
		if err == nil {
			cli, err = net.ListenPacket("unixgram", filepath.Join(dir, "c"))
		}
	} else {
		srv, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err == nil {
			cli, err = net.ListenPacket("udp4", "127.0.0.1:0")
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	to = srv.LocalAddr()
	b.Cleanup(func() { srv.Close(); cli.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo(buf[:n], from)
		}
	}()
	msg, buf := []byte("ping"), make([]byte, 64)
	b.ResetTimer()
	for b.Loop() {
		if _, err := cli.WriteTo(msg, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := cli.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUDPRoundTrip(b *testing.B)      { benchUDP(b, "udp") }
func BenchmarkUnixgramRoundTrip(b *testing.B) { benchUDP(b, "unixgram") }

// BenchmarkOpenClose opens and closes a regular file: what every program
// does most, and what uopen intercepts.
func BenchmarkOpenClose(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		syscall.Close(fd)
	}
}
