package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the CPU time used so far by the processes that do an
// import's work: PostgreSQL's (every process named postgres), the S3
// server's and this one (the local stack's Lambdas, state machine runner
// and API run in it).
//
// Each process counts its own time and that of the children it has reaped
// (cutime, cstime). Without them, a backend or autovacuum worker that
// exits between two samples took its whole CPU time out of the second
// one, and a window could come out cheaper than the work it did: the
// postmaster reaps every PostgreSQL process, so with them the sum only
// grows.
type cpuSample map[string]time.Duration

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

func sampleCPU() cpuSample {
	s := cpuSample{}
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state … utime stime cutime cstime: fields 14 to 17,
		// counted after the closing parenthesis, as comm may hold spaces.
		open, end := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || end < open {
			continue
		}
		comm := string(b[open+1 : end])
		fields := strings.Fields(string(b[end+1:]))
		if len(fields) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:open])))
		var who string
		switch {
		case pid == self:
			who = "portage"
		case comm == "postgres":
			who = "postgres"
		case strings.HasPrefix(comm, "versitygw"):
			who = "s3"
		default:
			continue
		}
		var ticks int64
		for _, f := range fields[11:15] {
			n, _ := strconv.ParseInt(f, 10, 64)
			ticks += n
		}
		s[who] += time.Duration(ticks) * time.Second / clockTicks
	}
	return s
}

// since describes the CPU time each part used after s was sampled.
func (s cpuSample) since() string {
	now := sampleCPU()
	var parts []string
	for _, who := range []string{"postgres", "portage", "s3"} {
		d := now[who] - s[who]
		if d < 0 { // a process counted before exited unreaped (its parent is not ours)
			parts = append(parts, who+" n/a")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1fs", who, d.Seconds()))
	}
	return "CPU " + strings.Join(parts, ", ")
}
