// Package rdsproxy is the local stand-in for RDS Proxy in front of
// PostgreSQL: it relays connections to the real server, but first reads each
// client's startup message and refuses what RDS Proxy refuses, so that a
// pool that works locally also connects in AWS.
//
// RDS Proxy (PostgreSQL) recognizes only user and database in the startup
// message, plus the runtime parameters application_name, client_encoding,
// DateStyle, TimeZone, extra_float_digits and search_path; it does not
// support replication connections or CancelRequest. Anything else, such as
// statement_timeout, is refused here with a FATAL error naming it.
package rdsproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/portagehq/portage/shared/postgres"
)

// Protocol codes of the first message a PostgreSQL client sends.
const (
	protocol3     = 196608
	sslRequest    = 80877103
	gssRequest    = 80877104
	cancelRequest = 80877102
	maxStartup    = 10000 // PostgreSQL's own limit on a startup packet
)

// Proxy relays checked connections to Upstream ("host:port").
type Proxy struct {
	Upstream string
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// Start listens on a loopback port and relays to upstream.
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Upstream: upstream, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's "host:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops listening and ends every relayed connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c, true)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			defer c.Close()
			p.serve(c)
		}()
	}
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	startup, params, err := readStartup(client)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			p.refuse(client, err.Error())
		}
		return
	}
	if params["replication"] != "" {
		p.refuse(client, "RDS Proxy does not support streaming replication mode")
		return
	}
	if err := postgres.CheckStartupParams(params); err != nil {
		p.refuse(client, err.Error())
		return
	}
	server, err := net.Dial("tcp", p.Upstream)
	if err != nil {
		p.refuse(client, "cannot reach the database: "+err.Error())
		return
	}
	p.track(server, true)
	defer p.track(server, false)
	defer server.Close()
	if _, err := server.Write(startup); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	relay := func(dst, src net.Conn) {
		io.Copy(dst, src) // splice(2) between TCP sockets on Linux
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go relay(server, client)
	go relay(client, server)
	<-done
	<-done
}

// readStartup reads the client's startup message, answering SSL and GSS
// encryption requests with "no" (loopback, like the throwaway cluster), and
// returns the message's bytes and its parameters.
func readStartup(c net.Conn) ([]byte, map[string]string, error) {
	for {
		var head [8]byte
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return nil, nil, io.EOF
		}
		n := binary.BigEndian.Uint32(head[:4])
		code := binary.BigEndian.Uint32(head[4:])
		if n < 8 || n > maxStartup {
			return nil, nil, fmt.Errorf("invalid startup packet length %d", n)
		}
		switch code {
		case sslRequest, gssRequest:
			if _, err := c.Write([]byte{'N'}); err != nil {
				return nil, nil, io.EOF
			}
			continue
		case cancelRequest:
			return nil, nil, errors.New("RDS Proxy does not support CancelRequest")
		case protocol3:
		default:
			return nil, nil, fmt.Errorf("unsupported frontend protocol %d", code)
		}
		msg := make([]byte, n)
		copy(msg, head[:])
		if _, err := io.ReadFull(c, msg[8:]); err != nil {
			return nil, nil, io.EOF
		}
		params := map[string]string{}
		fields := strings.Split(strings.TrimRight(string(msg[8:]), "\x00"), "\x00")
		for i := 0; i+1 < len(fields); i += 2 {
			params[fields[i]] = fields[i+1]
		}
		return msg, params, nil
	}
}

// refuse answers with a FATAL ErrorResponse, as a server refusing the
// connection does.
func (p *Proxy) refuse(c net.Conn, message string) {
	var body []byte
	for _, f := range []struct {
		code byte
		val  string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', "08P01"}, {'M', message}} {
		body = append(body, f.code)
		body = append(body, f.val...)
		body = append(body, 0)
	}
	body = append(body, 0)
	msg := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(msg[1:], uint32(len(body)+4))
	c.Write(append(msg, body...))
}
