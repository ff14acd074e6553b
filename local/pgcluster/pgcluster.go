// Package pgcluster starts a throwaway PostgreSQL cluster from the system's
// server binaries, for the local stack and the tests. It is the local stand-in
// for RDS; nothing in shared/ or functions/ imports it.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is a running throwaway cluster. Stop removes it.
type Cluster struct {
	// URL connects as the superuser "postgres" over loopback TCP.
	URL     string
	dir     string
	bin     string
	cred    *syscall.Credential
	stopped bool
	temp    bool
}

// Start initializes a cluster in a new temporary directory and starts it on a
// free loopback port. Durability is off (fsync, full-page writes): the data is
// thrown away. As root, the server runs as the "postgres" system user, since
// PostgreSQL refuses to run as root.
func Start(ctx context.Context) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "portage-pg-")
	if err != nil {
		return nil, err
	}
	return start(ctx, dir, true)
}

// StartIn starts the cluster kept in dir, initializing it the first time:
// the local stack's data survives a restart. Stop leaves the files.
//
// As root the server runs as the "postgres" user, which cannot reach a
// directory under root's home: the cluster is then kept in postgres's own
// home (/var/lib/postgresql), in a folder named after dir.
func StartIn(ctx context.Context, dir string) (*Cluster, error) {
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil && u.HomeDir != "" {
			abs, _ := filepath.Abs(dir)
			dir = filepath.Join(u.HomeDir, "portage-dev-"+fmt.Sprintf("%x", sha256.Sum256([]byte(abs)))[:12])
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return start(ctx, dir, false)
}

func start(ctx context.Context, dir string, temp bool) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, temp: temp}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a 'postgres' system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
			c.remove()
			return nil, err
		}
	}
	if err := c.stopLeftover(ctx, data); err != nil {
		c.remove()
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		c.remove()
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300 -c shared_buffers=512MB -c max_wal_size=4GB "+
		"-c checkpoint_timeout=30min", port, dir)
	if err := c.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		c.remove()
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// stopLeftover deals with the server a stack killed before (kill -9 of
// its process) may have left on data: still running, it is this
// directory's own server and is stopped cleanly, so that a new one can
// start; gone, its stale pid file is removed. A live server's pid file is
// never removed under it (that made the next start fail), and a pid that
// now belongs to another program is not signalled.
func (c *Cluster) stopLeftover(ctx context.Context, data string) error {
	pidFile := filepath.Join(data, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil // no server left anything
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || !isPostgres(pid) {
		os.Remove(pidFile)
		return nil
	}
	if err := c.run(ctx, "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("a PostgreSQL server left running on %s (pid %d) did not stop: %w", data, pid, err)
	}
	return nil
}

// isPostgres reports whether process pid is a PostgreSQL server.
func isPostgres(pid int) bool {
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	name, _, _ := strings.Cut(string(cmd), "\x00")
	return filepath.Base(name) == "postgres"
}

// Stop shuts the server down and deletes its files, unless it was started
// with StartIn (then the files stay, and the server stops cleanly).
func (c *Cluster) Stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	mode := "immediate"
	if !c.temp {
		mode = "fast"
	}
	err := c.run(context.Background(), "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", mode, "-w", "stop")
	if c.temp {
		err = errors.Join(err, os.RemoveAll(c.dir))
	}
	return err
}

func (c *Cluster) remove() {
	if c.temp {
		os.RemoveAll(c.dir)
	}
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out.String())
	}
	return nil
}

// findBinaries returns the directory holding initdb and pg_ctl: PG_BINDIR if
// set, else the newest /usr/lib/postgresql/*/bin, else the PATH.
func findBinaries() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) found: install the Debian 'postgresql' package or set PG_BINDIR")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	// Give the port back a moment before the server binds it.
	time.Sleep(10 * time.Millisecond)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Dir is where the cluster keeps its files.
func (c *Cluster) Dir() string { return c.dir }
