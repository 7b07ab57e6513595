package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"isle/internal/cluster/link"
)

// maxCertNodes bounds `isle cluster certs --nodes N`.
const maxCertNodes = 1024

// cmdCluster runs `isle cluster SUBCOMMAND`.
func cmdCluster(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintln(w, "usage: isle cluster certs DIR --nodes N|ID,...\n\nwrites a cluster CA and one certificate and key per node into DIR (docs/cluster.md)")
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	switch args[0] {
	case "certs":
		return cmdClusterCerts(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "isle cluster: unknown subcommand %q (see isle cluster --help)\n", args[0])
	return exitUsage
}

// cmdClusterCerts writes a CA and node certificates: ca.pem, ca-key.pem,
// node-ID.pem and node-ID-key.pem (ECDSA P-256).
func cmdClusterCerts(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster certs", flag.ContinueOnError)
	nodes := fs.String("nodes", "", "how many nodes (ids 1 to N), or their ids: N or ID,ID,...")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle cluster certs DIR --nodes N|ID,...\n\nwrites ca.pem, ca-key.pem and, per node, node-ID.pem and node-ID-key.pem (ECDSA P-256; a node's certificate names it node-ID.isle)")
		fs.PrintDefaults()
	}
	// DIR may come before or after the flags.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	rest := fs.Args()
	if dir == "" && len(rest) > 0 {
		dir, rest = rest[0], rest[1:]
	}
	if dir == "" || len(rest) > 0 {
		fmt.Fprintln(stderr, "isle cluster certs: want one directory: isle cluster certs DIR --nodes N|ID,...")
		return exitUsage
	}
	ids, err := parseNodeIDs(*nodes)
	if err != nil {
		fmt.Fprintf(stderr, "isle cluster certs: --nodes: %v\n", err)
		return exitUsage
	}
	if err := link.GenerateCerts(dir, ids); err != nil {
		fmt.Fprintf(stderr, "isle cluster certs: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "wrote a cluster CA and certificates for %d nodes in %s\n", len(ids), dir)
	return 0
}

// parseNodeIDs reads N (ids 1 to N) or a list of distinct ids.
func parseNodeIDs(s string) ([]uint64, error) {
	if s == "" {
		return nil, fmt.Errorf("missing: say how many nodes, or their ids")
	}
	if !strings.Contains(s, ",") {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 || n > maxCertNodes {
			return nil, fmt.Errorf("%q is not a number of nodes from 1 to %d", s, maxCertNodes)
		}
		ids := make([]uint64, n)
		for i := range ids {
			ids[i] = uint64(i + 1)
		}
		return ids, nil
	}
	seen := map[uint64]bool{}
	var ids []uint64
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%q is not a node id (a number from 1)", f)
		}
		if seen[id] {
			return nil, fmt.Errorf("node id %d given twice", id)
		}
		if len(ids) == maxCertNodes {
			return nil, fmt.Errorf("more than %d nodes", maxCertNodes)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}
