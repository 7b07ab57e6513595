package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"isle/internal/cluster"
)

// ops answers name-table operations read from in, one a line, on out:
// "ID register NAME" (held by this node, with no endpoint: a test's or a
// script's name, not a SIP's), "ID unregister NAME" and "ID lookup NAME"
// (linearizable). Each answer is one line, "ID CODE" with CODE ok, exists,
// notfound, notowner or timeout (the outcome of a write is then unknown),
// and for a lookup "ID ok NODE" (0: no holder). Operations run one at a
// time, each bounded by --timeout; a line that is none of these is answered
// "ID bad" (or "? bad"). It ends at the end of in.
func (n *nodeCmd) ops(in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || len(f[2]) > cluster.MaxName {
			fmt.Fprintf(out, "%s bad\n", f[0])
			continue
		}
		fmt.Fprintf(out, "%s %s\n", f[0], n.op(f[1], f[2]))
	}
}

// op runs one operation and returns its answer.
func (n *nodeCmd) op(verb, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	switch verb {
	case "register":
		return opCode(n.g.Register(ctx, name, cluster.Name{Node: n.id}))
	case "unregister":
		return opCode(n.g.Unregister(ctx, name))
	case "lookup":
		v, ok, err := n.g.Lookup(ctx, name)
		if err != nil {
			return opCode(err)
		}
		if !ok {
			return "ok 0"
		}
		return fmt.Sprintf("ok %d", v.Node)
	}
	return "bad"
}

func opCode(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, cluster.ErrExists):
		return "exists"
	case errors.Is(err, cluster.ErrNotFound):
		return "notfound"
	case errors.Is(err, cluster.ErrNotOwner):
		return "notowner"
	}
	return "timeout"
}
