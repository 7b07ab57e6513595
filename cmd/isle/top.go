package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"isle"
)

// cmdTop is `isle top PATH`: a live view of a machine started with
// `isle run --control PATH`, as htop's (docs/top.md).
func cmdTop(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("top", flag.ContinueOnError)
	every := fs.Duration("d", time.Second, "refresh every D")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle top [-d D] PATH\n\nShows the machine started with isle run --control PATH: per core its busy %, run queue,\nmessages a second in and out, migrations and wasted-core intervals; its SIPs, sortable\n(F6 or > to choose the column, P CPU, M messages, T time, N pid, I to invert), q to quit.\n\nflags:")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "isle top: want the control socket of a machine (usage: isle top PATH)")
		return exitUsage
	}
	if *every < 10*time.Millisecond {
		fmt.Fprintf(stderr, "isle top: -d %v: at least 10ms\n", *every)
		return exitUsage
	}
	path := fs.Arg(0)
	cc, err := isle.DialControl(path)
	if err != nil {
		fmt.Fprintf(stderr, "isle top: %s: no machine answers there (%v)\n", path, dialReason(err))
		return exitError
	}
	defer cc.Close()
	first, err := cc.Snapshot()
	if err != nil {
		fmt.Fprintf(stderr, "isle top: %s: %v\n", path, err)
		return exitError
	}
	m := newTopModel(cc.Snapshot, *every)
	m.cur = first
	p := tea.NewProgram(m, tea.WithOutput(stdout))
	end, err := p.Run()
	if err != nil {
		fmt.Fprintf(stderr, "isle top: %v\n", err)
		return exitError
	}
	if e := end.(topModel).err; e != nil {
		fmt.Fprintf(stderr, "isle top: %s: the machine went away (%v)\n", path, e)
		return exitError
	}
	return 0
}

// dialReason is why a dial failed, without Go's "dial unix PATH:" prefix.
func dialReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// topModel is the live view's state.
//
// Ownership: bubbletea's goroutine owns it (Update returns the new one).
type topModel struct {
	fetch     func() (isle.Snapshot, error)
	every     time.Duration
	prev, cur isle.Snapshot
	sortBy    topCol
	invert    bool
	choosing  bool   // the column chooser (F6) is open
	choice    topCol // the column the chooser points at
	width     int
	err       error // the fetch that failed: top ends
}

func newTopModel(fetch func() (isle.Snapshot, error), every time.Duration) topModel {
	return topModel{fetch: fetch, every: every, sortBy: colCPU, width: 80}
}

// snapMsg is a fetched snapshot, or why none came.
type snapMsg struct {
	s   isle.Snapshot
	err error
}

// next fetches a snapshot after the refresh interval.
func (m topModel) next() tea.Cmd {
	fetch := m.fetch
	return tea.Tick(m.every, func(time.Time) tea.Msg {
		s, err := fetch()
		return snapMsg{s, err}
	})
}

func (m topModel) Init() tea.Cmd { return m.next() }

func (m topModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case snapMsg:
		if msg.err != nil {
			m.err = msg.err
			return m, tea.Quit
		}
		m.prev, m.cur = m.cur, msg.s
		return m, m.next()
	case tea.WindowSizeMsg:
		m.width = msg.Width
	case tea.KeyPressMsg:
		return m.key(msg.String())
	}
	return m, nil
}

// key acts on one key press.
func (m topModel) key(k string) (tea.Model, tea.Cmd) {
	if m.choosing {
		switch k {
		case "up", "k":
			m.choice = (m.choice + numCols - 1) % numCols
		case "down", "j":
			m.choice = (m.choice + 1) % numCols
		case "enter":
			m.sortBy, m.invert, m.choosing = m.choice, false, false
		case "esc", "f6", ">", "<":
			m.choosing = false
		case "q", "ctrl+c":
			return m, tea.Quit
		}
		return m, nil
	}
	switch k {
	case "q", "ctrl+c", "f10":
		return m, tea.Quit
	case "f6", ">", "<":
		m.choosing, m.choice = true, m.sortBy
	case "I":
		m.invert = !m.invert
	default:
		if col, ok := sortKey(k); ok {
			m.sortBy, m.invert = col, false
		}
	}
	return m, nil
}

func (m topModel) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	return v
}

// render draws the view as text.
func (m topModel) render() string {
	bold := lipgloss.NewStyle().Bold(true)
	hl := lipgloss.NewStyle().Reverse(true)
	bar := lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	var b strings.Builder
	head, _, _ := colInfo(m.sortBy)
	fmt.Fprintf(&b, "%s  %d cores, %d SIPs, sorted by %s   F6/> sort column  P M T N  I invert  q quit\n\n",
		bold.Render("isle top"), len(m.cur.Cores), len(m.cur.SIPs), head)
	b.WriteString(bold.Render(fmt.Sprintf("%-5s %-29s %4s %10s %10s %6s %6s", "CORE", "BUSY", "RUNQ", "MSG IN/s", "MSG OUT/s", "MIGR", "WASTED")))
	b.WriteByte('\n')
	for _, r := range coreRows(m.prev, m.cur) {
		n := int(r.Busy/100*20 + 0.5)
		fmt.Fprintf(&b, "%-5d [%s%s] %5.1f%% %4d %10.0f %10.0f %6d %6d\n", r.Core,
			bar.Render(strings.Repeat("|", n)), strings.Repeat(" ", 20-n), r.Busy, r.RunQueue, r.InPerS, r.OutPerS, r.Migr, r.Wasted)
	}
	b.WriteByte('\n')
	// The column chooser (F6) is a gutter left of the SIP table.
	gutter := func(i int) string { return "" }
	if m.choosing {
		menu := []string{bold.Render(fmt.Sprintf("%-8s", "Sort by"))}
		for c := range numCols {
			h, _, _ := colInfo(c)
			h = fmt.Sprintf("%-8s", h)
			if c == m.choice {
				h = hl.Render(h)
			}
			menu = append(menu, h)
		}
		gutter = func(i int) string {
			if i < len(menu) {
				return menu[i] + "  "
			}
			return strings.Repeat(" ", 10)
		}
	}
	var hdr []string
	for c := range numCols {
		h, w, _ := colInfo(c)
		s := pad(h, w, c)
		if c == m.sortBy {
			s = hl.Render(s)
		}
		hdr = append(hdr, s)
	}
	b.WriteString(gutter(0) + bold.Render(strings.Join(hdr, " ")) + "\n")
	rows := sipRows(m.prev, m.cur, m.sortBy, m.invert)
	for i := 0; i < max(len(rows), int(numCols)); i++ {
		var cells []string
		if i < len(rows) {
			for c := range numCols {
				_, w, _ := colInfo(c)
				cells = append(cells, pad(cell(c, rows[i]), w, c))
			}
		} else if !m.choosing {
			break
		}
		b.WriteString(strings.TrimRight(gutter(i+1)+strings.Join(cells, " "), " ") + "\n")
	}
	return b.String()
}

// pad fits s to width w: names left-aligned, numbers right-aligned.
func pad(s string, w int, c topCol) string {
	if len(s) > w {
		s = s[:w]
	}
	if c == colName || c == colState {
		return fmt.Sprintf("%-*s", w, s)
	}
	return fmt.Sprintf("%*s", w, s)
}
