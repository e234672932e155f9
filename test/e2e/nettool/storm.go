package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// storm is the Go side of the signal storm (TestSignalStorm): n numbered
// TCP connections and n numbered UDP datagrams over 127.0.0.1:port and
// port+1, through blocking system calls on threads of their own (so the
// signals hit accept, connect, recvfrom and sendto while noip holds them)
// and through the net package, while the process sends itself SIGUSR1 at
// 1 kHz (the Go runtime installs every handler with SA_RESTART, and adds
// its own SIGURG preemption). Every number must come back exactly once,
// with no error: Go retries EINTR itself, so none is ever expected.
func storm(port, n int) error {
	got := make(chan os.Signal, 64)
	signal.Notify(got, syscall.SIGUSR1)
	var signals atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-got:
				signals.Add(1)
			case <-stop:
				return
			}
		}
	}()
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				syscall.Kill(os.Getpid(), syscall.SIGUSR1)
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)

	var errs []error
	for _, f := range []func(int, int) (string, error){rawTCP, rawUDP, netTCP} {
		line, err := f(port, n)
		port += 2
		fmt.Println(line)
		if err != nil {
			errs = append(errs, err)
		}
	}
	fmt.Printf("signals %d eintr %d\n", signals.Load(), eintr.Load())
	if eintr.Load() != 0 {
		errs = append(errs, fmt.Errorf("%d calls failed with EINTR despite SA_RESTART", eintr.Load()))
	}
	return errors.Join(errs...)
}

func loopback(port int) *syscall.SockaddrInet4 {
	return &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
}

// tally counts what one side saw, by number.
type tally struct {
	mu           sync.Mutex
	seen         []int
	errs         int
	firstErr     error
	missing, dup int
}

func newTally(n int) *tally { return &tally{seen: make([]int, n)} }

func (t *tally) see(i uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if int(i) >= len(t.seen) {
		t.errs++
		return
	}
	t.seen[i]++
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs++
	if t.firstErr == nil {
		t.firstErr = err
	}
}

func (t *tally) result(what string) (string, error) {
	for _, c := range t.seen {
		switch {
		case c == 0:
			t.missing++
		case c > 1:
			t.dup++
		}
	}
	line := fmt.Sprintf("%s missing %d duplicated %d errors %d", what, t.missing, t.dup, t.errs)
	if t.missing+t.dup+t.errs > 0 {
		return line, fmt.Errorf("%s: %v", line, t.firstErr)
	}
	return line, nil
}

// eintr counts interrupted calls: with SA_RESTART handlers, there must
// be none.
var eintr atomic.Int64

// retry runs a blocking system call until it is not interrupted.
func retry(f func() error) error {
	for {
		err := f()
		if err != syscall.EINTR {
			return err
		}
		eintr.Add(1)
	}
}

// rawTCP: a server thread blocked in accept(2), a client connecting
// with connect(2), each exchange a 4-byte number and its echo.
func rawTCP(port, n int) (string, error) {
	t := newTally(n)
	l, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(l)
	syscall.SetsockoptInt(l, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(l, loopback(port)); err != nil {
		return "", err
	}
	if err := syscall.Listen(l, 128); err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		b := make([]byte, 4)
		for i := 0; i < n; i++ {
			var c int
			err := retry(func() (err error) { c, _, err = syscall.Accept(l); return })
			if err != nil {
				t.fail(fmt.Errorf("accept: %w", err))
				continue
			}
			if err := readFull(c, b); err != nil {
				t.fail(fmt.Errorf("read: %w", err))
			} else {
				t.see(binary.LittleEndian.Uint32(b))
				writeFull(c, b)
			}
			syscall.Close(c)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := make([]byte, 4)
	acked := 0
	for i := 0; i < n; i++ {
		s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.fail(fmt.Errorf("socket: %w", err))
			continue
		}
		if err := retry(func() error { return syscall.Connect(s, loopback(port)) }); err != nil && err != syscall.EISCONN {
			t.fail(fmt.Errorf("connect: %w", err))
			syscall.Close(s)
			continue
		}
		binary.LittleEndian.PutUint32(b, uint32(i))
		if err := writeFull(s, b); err == nil && readFull(s, b) == nil && binary.LittleEndian.Uint32(b) == uint32(i) {
			acked++
		} else {
			t.fail(fmt.Errorf("exchange %d: %v", i, err))
		}
		syscall.Close(s)
	}
	<-done
	return t.result(fmt.Sprintf("raw tcp acked %d", acked))
}

// rawUDP: a server thread blocked in recvfrom(2) echoing with sendto(2),
// a client sending each number and waiting for its echo.
func rawUDP(port, n int) (string, error) {
	t := newTally(n)
	srv, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(srv)
	if err := syscall.Bind(srv, loopback(port)); err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		b := make([]byte, 16)
		for {
			var m int
			var from syscall.Sockaddr
			err := retry(func() (err error) { m, from, err = syscall.Recvfrom(srv, b, 0); return })
			if err != nil {
				t.fail(fmt.Errorf("recvfrom: %w", err))
				return
			}
			v := binary.LittleEndian.Uint32(b)
			if v == 0xffffffff {
				return
			}
			if m != 4 {
				t.fail(fmt.Errorf("a %d-byte datagram", m))
				continue
			}
			t.see(v)
			if err := retry(func() error { return syscall.Sendto(srv, b[:4], 0, from) }); err != nil {
				t.fail(fmt.Errorf("sendto: %w", err))
			}
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(s)
	// A receive timeout, so that a lost datagram shows as one.
	syscall.SetsockoptTimeval(s, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &syscall.Timeval{Sec: 5})
	b := make([]byte, 16)
	echoed := 0
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b, uint32(i))
		if err := retry(func() error { return syscall.Sendto(s, b[:4], 0, loopback(port)) }); err != nil {
			t.fail(fmt.Errorf("sendto: %w", err))
			continue
		}
		var m int
		if err := retry(func() (err error) { m, _, err = syscall.Recvfrom(s, b, 0); return }); err != nil {
			t.fail(fmt.Errorf("echo of %d: %w", i, err))
			continue
		}
		if m == 4 && binary.LittleEndian.Uint32(b) == uint32(i) {
			echoed++
		} else {
			t.fail(fmt.Errorf("echo of %d: got %d bytes %x", i, m, b[:m]))
		}
	}
	binary.LittleEndian.PutUint32(b, 0xffffffff)
	syscall.Sendto(s, b[:4], 0, loopback(port))
	<-done
	return t.result(fmt.Sprintf("raw udp echoed %d", echoed))
}

// netTCP is the same exchange through the net package (non-blocking
// sockets and the runtime's poller), 8 clients at a time.
func netTCP(port, n int) (string, error) {
	t := newTally(n)
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 4)
				if _, err := readAll(c, b); err != nil {
					t.fail(fmt.Errorf("server read: %w", err))
					return
				}
				t.see(binary.LittleEndian.Uint32(b))
				c.Write(b)
			}()
		}
	}()
	var acked atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 4)
			for i := range next {
				c, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					t.fail(fmt.Errorf("dial: %w", err))
					continue
				}
				binary.LittleEndian.PutUint32(b, uint32(i))
				c.Write(b)
				if _, err := readAll(c, b); err == nil && binary.LittleEndian.Uint32(b) == uint32(i) {
					acked.Add(1)
				} else {
					t.fail(fmt.Errorf("client %d: %v", i, err))
				}
				c.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	// The server's last reads may still be going.
	time.Sleep(100 * time.Millisecond)
	return t.result(fmt.Sprintf("net tcp acked %d", acked.Load()))
}

func readAll(c net.Conn, b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := 0
	for got < len(b) {
		m, err := c.Read(b[got:])
		got += m
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func readFull(fd int, b []byte) error {
	for got := 0; got < len(b); {
		var m int
		if err := retry(func() (err error) { m, err = syscall.Read(fd, b[got:]); return }); err != nil {
			return err
		}
		if m == 0 {
			return errors.New("early EOF")
		}
		got += m
	}
	return nil
}

func writeFull(fd int, b []byte) error {
	for done := 0; done < len(b); {
		var m int
		if err := retry(func() (err error) { m, err = syscall.Write(fd, b[done:]); return }); err != nil {
			return err
		}
		done += m
	}
	return nil
}
