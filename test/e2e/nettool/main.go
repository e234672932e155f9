// Command nettool is a small static Go network program for noip's scenario
// tests: a server and a client that print the addresses they see, and a
// stress test that connects thousands of times under heavy goroutine
// preemption. Built with CGO_ENABLED=0 by the tests, it shows that noip
// serves programs it cannot inject anything into.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nettool serve ADDR [N] | dial ADDR | churn N | udpserve ADDR [N] | udpdial ADDR | storm PORT N | gostatic TCPPORT UDPPORT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		n := -1
		if len(os.Args) > 3 {
			n, _ = strconv.Atoi(os.Args[3])
		}
		err = serve(os.Args[2], n)
	case "dial":
		err = dial(os.Args[2])
	case "churn":
		n, _ := strconv.Atoi(os.Args[2])
		err = churn(n)
	case "udpserve":
		n := -1
		if len(os.Args) > 3 {
			n, _ = strconv.Atoi(os.Args[3])
		}
		err = udpServe(os.Args[2], n)
	case "udpdial":
		err = udpDial(os.Args[2])
	case "storm":
		port, _ := strconv.Atoi(os.Args[2])
		n, _ := strconv.Atoi(os.Args[3])
		err = storm(port, n)
	case "gostatic":
		err = escape(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nettool:", err)
		os.Exit(1)
	}
}

// serve accepts n connections (forever if n < 0), telling each client the
// addresses the server sees.
func serve(addr string, n int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %v\n", ln.Addr())
	for i := 0; n < 0 || i < n; i++ {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		fmt.Printf("accepted local=%v remote=%v\n", c.LocalAddr(), c.RemoteAddr())
		fmt.Fprintf(c, "server local=%v remote=%v\n", c.LocalAddr(), c.RemoteAddr())
		c.Close()
	}
	return nil
}

func dial(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("client local=%v remote=%v\n", c.LocalAddr(), c.RemoteAddr())
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	os.Stdout.Write(b)
	// A nettool server says what it sees; both ends must agree.
	want := fmt.Sprintf("server local=%v remote=%v\n", c.RemoteAddr(), c.LocalAddr())
	if strings.HasPrefix(string(b), "server ") {
		if string(b) == want {
			fmt.Println("addresses agree")
		} else {
			fmt.Printf("addresses disagree: want %q\n", want)
		}
	}
	return nil
}

// churn makes n connections to servers in this process while many
// goroutines spin, so the runtime preempts threads with signals all the
// time and interrupts noip's handling of binds, connects and accepts.
// Every connection must succeed, carry its data intact, and both ends must
// agree on each other's address. A fresh listener on port 0 is bound every
// 100 connections.
func churn(n int) error {
	stop := make(chan struct{})
	var spin atomic.Uint64
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					spin.Add(1)
				}
			}
		}()
	}
	defer close(stop)

	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			fmt.Fprintf(os.Stderr, "churn: "+format+"\n", args...)
		}
	}
	done := 0
	for done < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		if a := ln.Addr().(*net.TCPAddr); !a.IP.IsLoopback() || a.Port == 0 {
			return fmt.Errorf("listener bound to %v", a)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					line, err := bufio.NewReader(c).ReadString('\n')
					if err != nil {
						fail("server read from %v: %v", c.RemoteAddr(), err)
						return
					}
					if want := c.RemoteAddr().String() + "\n"; line != want {
						fail("client says it is %q, server sees %q", line, want)
					}
					fmt.Fprintf(c, "%v %v\n", c.LocalAddr(), c.RemoteAddr())
				}()
			}
		}()
		batch := min(100, n-done)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				c, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
				if err != nil {
					fail("dial: %v", err)
					return
				}
				defer c.Close()
				fmt.Fprintf(c, "%v\n", c.LocalAddr())
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					fail("client read: %v", err)
					return
				}
				if want := fmt.Sprintf("%v %v\n", c.RemoteAddr(), c.LocalAddr()); line != want {
					fail("server says %q, client expected %q", line, want)
				}
			}()
		}
		wg.Wait()
		ln.Close()
		done += batch
	}
	if f := failures.Load(); f > 0 {
		return errors.New(strconv.FormatInt(f, 10) + " of " + strconv.Itoa(n) + " connections failed")
	}
	fmt.Printf("churn: %d connections ok (%d spins)\n", n, spin.Load())
	return nil
}

// udpServe answers n datagrams (forever if n < 0) with the address the
// server saw them come from, with ReadFromUDP and WriteToUDP.
func udpServe(addr string, n int) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	uc := c.(*net.UDPConn)
	fmt.Printf("udp listening %v\n", uc.LocalAddr())
	buf := make([]byte, 2048)
	for i := 0; n < 0 || i < n; i++ {
		m, from, err := uc.ReadFromUDP(buf)
		if err != nil {
			return err
		}
		fmt.Printf("got %q from %v\n", buf[:m], from)
		if _, err := uc.WriteToUDP([]byte(fmt.Sprintf("%s seen from %v", buf[:m], from)), from); err != nil {
			return err
		}
	}
	return nil
}

// udpDial talks to a udpServe twice: over a connected socket (DialUDP,
// Write, Read), then from an unconnected one (WriteToUDP, ReadFromUDP),
// and checks the server saw the address each socket has.
func udpDial(addr string) error {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("connected")); err != nil {
		return err
	}
	buf := make([]byte, 2048)
	m, err := c.Read(buf)
	if err != nil {
		return err
	}
	fmt.Printf("connected: %s (local %v)\n", buf[:m], c.LocalAddr())
	if want := fmt.Sprintf("connected seen from %v", c.LocalAddr()); string(buf[:m]) != want {
		return fmt.Errorf("connected: got %q, want %q", buf[:m], want)
	}
	u, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := u.WriteToUDP([]byte("unconnected"), ra); err != nil {
		return err
	}
	m, from, err := u.ReadFromUDP(buf)
	if err != nil {
		return err
	}
	fmt.Printf("unconnected: %s from %v\n", buf[:m], from)
	if from.Port != ra.Port {
		return fmt.Errorf("reply came from %v, want port %d", from, ra.Port)
	}
	fmt.Println("udp ok")
	return nil
}
