package main

import (
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// escape is TestEscape's case for a static Go program: the calls of
// escape.c's everything(), made with package syscall on the real sockets
// the test hands in (fd 3 TCP, 4 UDP, 5 a listener, 6 UDPv6) and on
// sockets of its own, then a dial through package net.
func escape(tcpPort, udpPort string) error {
	tp, _ := strconv.Atoi(tcpPort)
	up, _ := strconv.Atoi(udpPort)
	lo := [4]byte{127, 0, 0, 1}
	tcp := &syscall.SockaddrInet4{Port: tp, Addr: lo}
	udp := &syscall.SockaddrInet4{Port: up, Addr: lo}
	mapped := &syscall.SockaddrInet6{Port: up, Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}}
	say := func(what string, err error) {
		if err != nil {
			fmt.Printf("go %s -1 %v\n", what, err)
		} else {
			fmt.Printf("go %s 0\n", what)
		}
	}
	say("connect tcp", syscall.Connect(3, tcp))
	say("sendto udp", syscall.Sendto(4, []byte("g"), 0, udp))
	say("sendmsg udp", syscall.Sendmsg(4, []byte("g"), nil, udp, 0))
	say("sendto udp6 mapped", syscall.Sendto(6, []byte("g"), 0, mapped))
	say("listen tcp", syscall.Listen(3, 8))
	syscall.SetNonblock(5, true)
	_, _, err := syscall.Accept4(5, 0)
	say("accept listener", err)
	s, _ := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	say("own connect", syscall.Connect(s, tcp))
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", tcpPort))
	if err == nil {
		c.Close()
	}
	say("net.Dial tcp", err)
	u, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", udpPort))
	if err == nil {
		_, err = u.Write([]byte("g"))
		u.Close()
	}
	say("net.Dial udp and write", err)
	fmt.Println("done")
	// Hold, with every socket, until the test has looked.
	var b [64]byte
	for {
		if n, err := syscall.Read(0, b[:]); n <= 0 || err != nil {
			return nil
		}
	}
}
