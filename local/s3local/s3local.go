// Package s3local runs a real S3-compatible server on loopback for the
// local stack: versitygw (posix backend), which checks SigV4 signatures and
// presigned URLs, serves CORS, and posts S3-format ObjectCreated events to a
// webhook that this package turns into calls of the import trigger.
package s3local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Options configure the server.
type Options struct {
	// Buckets are created at start.
	Buckets []string
	// CORSOrigin is the origin allowed to PUT from a browser (default "*").
	CORSOrigin string
	// OnEvent receives every S3 event notification.
	OnEvent func(context.Context, events.S3Event)
	// Addr is the S3 listen address (default a free loopback port).
	Addr string
	// Dir keeps the objects across restarts (default: a temporary
	// directory, removed by Stop).
	Dir string
}

// Server is a running versitygw.
type Server struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	cmd       *exec.Cmd
	dir       string
	temp      bool
	hook      *http.Server
	logs      bytes.Buffer
}

// Start runs versitygw in a new temporary directory. The binary is
// $VERSITYGW when set, else the project's Go tool dependency (go tool
// versitygw, built once and cached by the go command).
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := binary(ctx)
	if err != nil {
		return nil, err
	}
	dir, temp := opts.Dir, opts.Dir == ""
	if temp {
		if dir, err = os.MkdirTemp("", "portage-s3-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{dir: dir, temp: temp, AccessKey: "portagelocal", SecretKey: "portagelocalsecret", Region: "us-east-1"}
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.hook = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := decodeEvent(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if opts.OnEvent != nil {
			opts.OnEvent(context.WithoutCancel(r.Context()), ev)
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go s.hook.Serve(hookLn)
	addr := opts.Addr
	if addr == "" {
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	origin := opts.CORSOrigin
	if origin == "" {
		origin = "*"
	}
	s.Endpoint = "http://" + addr
	s.cmd = exec.Command(bin, "--port", addr, "--event-webhook-url", "http://"+hookLn.Addr().String()+"/",
		"--cors-allow-origin", origin, "--quiet", "posix", dir)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	// If this process dies (a crashed test), the server goes with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	client := s.Client()
	for _, b := range opts.Buckets {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if errors.As(err, &owned) || errors.As(err, &exists) {
			continue // kept from an earlier run
		}
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return s, nil
}

func binary(ctx context.Context) (string, error) {
	if b := os.Getenv("VERSITYGW"); b != "" {
		return b, nil
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "-n", "versitygw").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("build versitygw (go tool -n versitygw, run inside the project): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (s *Server) waitReady(ctx context.Context) error {
	client := s.Client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("versitygw did not become ready: %v\n%s", err, s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Client returns an S3 client for the server, path-style, signed with the
// root credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// GetObject reads a whole object (the Step Functions runner's ItemReader).
func (s *Server) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// Stop ends the server and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	if s.hook != nil {
		s.hook.Close()
	}
	if s.temp {
		os.RemoveAll(s.dir)
	}
}

// decodeEvent reads versitygw's notification as AWS would send it: object
// keys URL-encoded (spaces as +, slashes kept), and without the empty
// Glacier restore times that aws-lambda-go cannot parse.
func decodeEvent(r io.Reader) (events.S3Event, error) {
	var raw struct {
		Records []map[string]json.RawMessage
	}
	var ev events.S3Event
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return ev, err
	}
	for _, rec := range raw.Records {
		delete(rec, "glacierEventData")
		var s3 map[string]any
		if err := json.Unmarshal(rec["s3"], &s3); err != nil {
			return ev, err
		}
		if obj, ok := s3["object"].(map[string]any); ok {
			key, _ := obj["key"].(string)
			parts := strings.Split(key, "/")
			for i, p := range parts {
				parts[i] = url.QueryEscape(p)
			}
			obj["key"] = strings.Join(parts, "/")
		}
		rec["s3"], _ = json.Marshal(s3)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return ev, err
	}
	return ev, json.Unmarshal(b, &ev)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
