package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"noip/internal/inet"
	"noip/internal/sockdir"
)

// lsOptions are noip ls's flags, as ss spells them.
type lsOptions struct {
	listening, all, tcp, udp, json bool
	path                           string
}

func parseLs(args []string) (*lsOptions, error) {
	o := &lsOptions{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json":
			o.json = true
		case a == "--path":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--path needs an endpoint, e.g. 127.0.0.1:8000 or udp/127.0.0.1:53")
			}
			i++
			o.path = args[i]
		case strings.HasPrefix(a, "--path="):
			o.path = strings.TrimPrefix(a, "--path=")
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			for _, f := range a[1:] {
				switch f {
				case 'l':
					o.listening = true
				case 'a':
					o.all = true
				case 't':
					o.tcp = true
				case 'u':
					o.udp = true
				default:
					return nil, fmt.Errorf("ls: unknown flag -%c (usage: noip ls [-a] [-l] [-t] [-u] [--json] [--path ENDPOINT])", f)
				}
			}
		default:
			return nil, fmt.Errorf("usage: noip ls [-a] [-l] [-t] [-u] [--json] [--path ENDPOINT]")
		}
	}
	return o, nil
}

// lsRow is one endpoint as noip ls shows it; the JSON form is for scripts.
type lsRow struct {
	Endpoint string `json:"endpoint"`
	Proto    string `json:"proto"`
	State    string `json:"state"`
	Pid      int    `json:"pid,omitempty"`
	Program  string `json:"program,omitempty"`
	Path     string `json:"path"`
}

// list shows the endpoints of the socket directory noip would use.
func list(o *options) int {
	lo, err := parseLs(o.args)
	if err != nil {
		return fail("%v", err)
	}
	_, d, err := loadSettings(o)
	if err != nil {
		return fail("%v", err)
	}
	defer d.Close()
	if lo.path != "" {
		return printPath(d, lo.path)
	}
	eps, err := d.List()
	if err != nil {
		return fail("%v", err)
	}
	inos := make(map[uint32]bool)
	for _, e := range eps {
		if e.Live {
			inos[e.SockIno] = true
		}
	}
	owners := sockdir.Owners(inos)
	rows := []lsRow{}
	for _, e := range eps {
		r := lsRow{Endpoint: strings.TrimPrefix(e.Name, sockdir.UDP+"/"), Proto: "tcp", State: "stale", Path: d.Path + "/" + e.Name}
		if e.Datagram {
			r.Proto = "udp"
		}
		if e.Live {
			r.State = "bound"
			if e.Listening {
				r.State = "listening"
			}
			if ow, ok := owners[e.SockIno]; ok {
				r.Pid, r.Program = ow.Pid, ow.Comm
			}
		}
		if lo.tcp != lo.udp && (r.Proto == "udp") != lo.udp {
			continue
		}
		if lo.listening && r.State != "listening" && !(r.Proto == "udp" && r.State == "bound") {
			continue // ss -l shows UDP sockets that are bound, too
		}
		if !lo.all && !lo.listening && r.State == "stale" {
			continue
		}
		rows = append(rows, r)
	}
	if lo.json {
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Println(string(b))
		return 0
	}
	if len(rows) == 0 {
		fmt.Printf("no endpoints in %s\n", d.Path)
		return 0
	}
	fmt.Printf("# %s\n", d.Path)
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tPROTO\tSTATE\tPID\tPROGRAM")
	for _, r := range rows {
		pid, prog := "-", "-"
		if r.Pid != 0 {
			pid, prog = fmt.Sprint(r.Pid), r.Program
		} else if r.State != "stale" {
			prog = "(not visible)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Endpoint, r.Proto, r.State, pid, prog)
	}
	tw.Flush()
	return 0
}

// printPath prints the file of an endpoint, for a program outside noip:
// curl --unix-socket "$(noip ls --path 127.0.0.1:8000)" http://x/
func printPath(d *sockdir.Dir, ep string) int {
	name := strings.TrimPrefix(ep, sockdir.UDP+"/")
	ap, ok := inet.ParseName(name)
	if !ok {
		return fail("ls --path: %q is not an endpoint (want ADDR:PORT, [ADDR]:PORT or udp/ADDR:PORT)", ep)
	}
	name = inet.Name(ap)
	if strings.HasPrefix(ep, sockdir.UDP+"/") {
		name = sockdir.UDP + "/" + name
	}
	if _, ok := d.Stat(name); !ok {
		fmt.Fprintf(os.Stderr, "noip: no endpoint %s in %s\n", name, d.Path)
		return 1
	}
	fmt.Println(d.Path + "/" + name)
	return 0
}

// gc removes the stale endpoints.
func gc(o *options) int {
	if len(o.args) > 0 {
		return fail("usage: noip gc")
	}
	_, d, err := loadSettings(o)
	if err != nil {
		return fail("%v", err)
	}
	defer d.Close()
	n, err := d.GC()
	if err != nil {
		return fail("%v", err)
	}
	fmt.Printf("removed %d stale endpoints from %s\n", n, d.Path)
	return 0
}
