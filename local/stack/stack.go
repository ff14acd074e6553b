// Package stack assembles the local stack of docs/design.md §3: PostgreSQL (the
// caller's or a throwaway cluster), a real S3 server, the Step Functions
// runner executing statemachine/import.asl.json, the Lambda handlers
// in-process with template.yaml's timeouts, and the HTTP API behind a JWT
// authorizer. `portage dev`, `portage demo` and the end-to-end tests run it.
package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsv4 "github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/local/apigw"
	"github.com/portagehq/portage/local/lambdas"
	"github.com/portagehq/portage/local/pgcluster"
	"github.com/portagehq/portage/local/rdsproxy"
	"github.com/portagehq/portage/local/s3local"
	"github.com/portagehq/portage/local/sfn"
	"github.com/portagehq/portage/local/template"
	"github.com/portagehq/portage/shared/api"
	"github.com/portagehq/portage/shared/devtoken"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/lambdafn"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/web"
)

// Bucket names on the local S3 server.
const (
	UploadsBucket = "portage-uploads"
	ExportsBucket = "portage-exports"
)

// Config says how to run the stack. The zero value works from the project's
// root with DATABASE_URL unset.
type Config struct {
	// Addr is the API's listen address (default 127.0.0.1:8080; ":0" picks one).
	Addr string
	// DatabaseURL is an admin connection (default $DATABASE_URL, else a
	// throwaway cluster). The Lambdas connect as portage_lambda, a login
	// role granted portage_app, so row-level security applies to them.
	DatabaseURL string
	// Root is the project directory (template.yaml, statemachine/).
	Root string
	// ChunkRows and MaxConcurrency tune imports (defaults 5000 and 4).
	ChunkRows      int
	MaxConcurrency int
	// RollbackBatch is the number of events a rollback batch reverses.
	RollbackBatch int
	// SweepEvery is the export sweeper's schedule (default 1 minute).
	SweepEvery time.Duration
	// ExportProgressEvery is how many rows pass between export progress updates.
	ExportProgressEvery int
	// Stage, when set, replaces the template's HTTP API stage (tests run
	// the API on a named stage too, as a team might deploy it).
	Stage string
	// DataDir, when set, keeps the stack's data across restarts, as AWS
	// would: the PostgreSQL cluster (when DATABASE_URL is unset), the S3
	// objects and the Step Functions executions. After a restart an
	// execution the stop cut off is FAILED where it was, and can be
	// redriven. Empty: everything is thrown away at Close.
	DataDir string
	// RetryWaitScale shortens the state machine's Retry waits (default 1).
	RetryWaitScale float64
	Log            *slog.Logger
	// Progress, when set, hears each part of the stack as it starts: a
	// first start builds and installs things for minutes, and a person
	// watching should see what is happening.
	Progress func(step string)
}

// Stack is a running local stack.
type Stack struct {
	APIURL      string
	SFNURL      string
	LambdaURL   string
	S3          *s3local.Server
	Functions   *lambdas.Registry
	Runner      *sfn.Runner
	MachineARN  string
	RollbackARN string
	DB          *pgxpool.Pool
	// SFN is a Step Functions client of the local runner's API.
	SFN *awssfn.Client
	// SweeperDB connects as the export sweeper and reconciler do.
	SweeperDB *pgxpool.Pool
	AdminURL  string
	// Proxy stands in for RDS Proxy between the Lambdas and PostgreSQL.
	Proxy       *rdsproxy.Proxy
	Secret      []byte
	cluster     *pgcluster.Cluster
	servers     []*http.Server
	closers     []func()
	log         *slog.Logger
	provisioned sync.Map
}

// Start brings the stack up; Close takes it down.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	st := &Stack{Secret: devtoken.Secret(), log: cfg.Log}
	if st.log == nil {
		st.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if err := st.start(ctx, cfg); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func (st *Stack) start(ctx context.Context, cfg Config) error {
	if cfg.Root == "" {
		cfg.Root = "."
	}
	if cfg.ChunkRows == 0 {
		cfg.ChunkRows = importer.DefaultChunkRows
	}
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = 4
	}
	fns, err := template.Functions(filepath.Join(cfg.Root, "template.yaml"))
	if err != nil {
		return err
	}
	httpAPI, err := template.API(filepath.Join(cfg.Root, "template.yaml"))
	if err != nil {
		return err
	}
	if cfg.Stage != "" {
		httpAPI.Stage = cfg.Stage
	}
	def, err := os.ReadFile(filepath.Join(cfg.Root, "statemachine", "import.asl.json"))
	if err != nil {
		return err
	}
	rollbackDef, err := os.ReadFile(filepath.Join(cfg.Root, "statemachine", "rollback.asl.json"))
	if err != nil {
		return err
	}

	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	// PostgreSQL.
	progress("PostgreSQL (a throwaway cluster unless DATABASE_URL is set) and its migrations")
	st.AdminURL = cfg.DatabaseURL
	if st.AdminURL == "" {
		st.AdminURL = os.Getenv("DATABASE_URL")
	}
	if st.AdminURL == "" {
		if cfg.DataDir != "" {
			st.cluster, err = pgcluster.StartIn(ctx, filepath.Join(cfg.DataDir, "postgres"))
		} else {
			st.cluster, err = pgcluster.Start(ctx)
		}
		if err != nil {
			return err
		}
		st.AdminURL = st.cluster.URL
	}
	if _, err := postgres.Migrate(ctx, st.AdminURL); err != nil {
		return err
	}
	// The Lambdas reach PostgreSQL through the RDS Proxy stand-in, which
	// refuses the startup parameters RDS Proxy refuses.
	admin, err := url.Parse(st.AdminURL)
	if err != nil || admin.Host == "" {
		return fmt.Errorf("DATABASE_URL must be a postgres:// URL with a host")
	}
	upstream := admin.Host
	if admin.Port() == "" {
		upstream = net.JoinHostPort(admin.Hostname(), "5432")
	}
	if st.Proxy, err = rdsproxy.Start(upstream); err != nil {
		return err
	}
	st.closers = append(st.closers, st.Proxy.Close)
	lambdaURL, err := loginRole(ctx, st.AdminURL, st.Proxy.Addr(), "portage_lambda", "portage_app")
	if err != nil {
		return err
	}
	sweeperURL, err := loginRole(ctx, st.AdminURL, st.Proxy.Addr(), "portage_sweeper_login", "portage_sweeper")
	if err != nil {
		return err
	}
	sweeperDB, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: sweeperURL, MaxConns: 2})
	st.SweeperDB = sweeperDB
	if err != nil {
		return err
	}
	st.closers = append(st.closers, sweeperDB.Close)
	if st.DB, err = postgres.NewPool(ctx, postgres.PoolConfig{URL: lambdaURL, MaxConns: int32(cfg.MaxConcurrency + 6)}); err != nil {
		return err
	}
	st.closers = append(st.closers, st.DB.Close)

	// Lambda, S3, Step Functions.
	progress("the S3 server (versitygw; the first start builds it, about a minute)")
	st.Functions = lambdas.NewRegistry()
	s3Dir := ""
	if cfg.DataDir != "" {
		s3Dir = filepath.Join(cfg.DataDir, "s3")
	}
	if st.S3, err = s3local.Start(ctx, s3local.Options{Buckets: []string{UploadsBucket, ExportsBucket},
		OnEvent: st.s3Event, Dir: s3Dir}); err != nil {
		return err
	}
	st.closers = append(st.closers, st.S3.Stop)
	progress("the Step Functions runner, the Lambdas and the API")
	st.Runner = sfn.NewRunner(st.Functions, st.S3)
	if cfg.RetryWaitScale > 0 {
		st.Runner.WaitScale = cfg.RetryWaitScale
	}
	st.Runner.OnStatus = st.executionStatus
	if cfg.DataDir != "" {
		st.Runner.Dir = filepath.Join(cfg.DataDir, "executions")
	}
	st.closers = append(st.closers, st.Runner.Close)
	sfnLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	st.SFNURL = "http://" + sfnLn.Addr().String()
	st.serve(sfnLn, st.Runner.Handler())
	lambdaLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	st.LambdaURL = "http://" + lambdaLn.Addr().String()
	st.serve(lambdaLn, st.Functions.Handler(st.log))
	lambdaClient := awslambda.New(awslambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(st.LambdaURL),
		Credentials: awsv4.NewStaticCredentialsProvider("local", "local", "")})

	s3Client := st.S3.Client()
	store := objstore.S3{Client: s3Client, Bucket: UploadsBucket}
	sfnClient := awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(st.SFNURL),
		Credentials: awsv4.NewStaticCredentialsProvider("local", "local", "")})
	st.SFN = sfnClient
	st.MachineARN, err = st.Runner.CreateStateMachine("portage-import", def, map[string]string{
		"ImportInspectFunctionArn":  lambdas.ARN("import-inspect"),
		"ImportPrepareFunctionArn":  lambdas.ARN("import-prepare"),
		"ImportChunkFunctionArn":    lambdas.ARN("import-chunk"),
		"ImportFinalizeFunctionArn": lambdas.ARN("import-finalize"),
		"ImportFailFunctionArn":     lambdas.ARN("import-fail"),
		"UploadsBucketName":         UploadsBucket,
	})
	if err != nil {
		return err
	}
	st.RollbackARN, err = st.Runner.CreateStateMachine("portage-rollback", rollbackDef, map[string]string{
		"RollbackFunctionArn": lambdas.ARN("rollback"),
	})
	if err != nil {
		return err
	}
	handlers := lambdafn.Handlers(lambdafn.Config{
		DB: st.DB, SweeperDB: sweeperDB,
		Uploads: store, Exports: objstore.S3{Client: s3Client, Bucket: ExportsBucket},
		Presign: s3.NewPresignClient(s3Client), SFN: sfnClient, Lambda: lambdaClient,
		ImportMachine: st.MachineARN, RollbackMachine: st.RollbackARN, ExportFunction: "export",
		ChunkRows: cfg.ChunkRows, MaxConcurrency: cfg.MaxConcurrency, RollbackBatch: cfg.RollbackBatch,
		ExportProgressEvery: cfg.ExportProgressEvery, Log: st.log,
	})
	for name := range fns {
		if _, ok := handlers[name]; !ok {
			return fmt.Errorf("template.yaml has function %s, which lambdafn builds no handler for", name)
		}
	}
	for name, h := range handlers {
		f, ok := fns[name]
		if !ok {
			return fmt.Errorf("template.yaml has no function for %s", name)
		}
		st.Functions.Register(name, f.Timeout, h)
	}

	// Executions saved by an earlier run: the ones it cut off are failed
	// and reported (import-fail records them on their jobs).
	if err := st.Runner.Restore(); err != nil {
		return err
	}

	// The EventBridge schedule of the sweeper.
	every := cfg.SweepEvery
	if every == 0 {
		every = time.Minute
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	st.closers = append(st.closers, stopSweep)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-sweepCtx.Done():
				return
			case <-t.C:
				if _, err := st.Functions.Invoke(sweepCtx, "export-sweeper", []byte("{}")); err != nil && sweepCtx.Err() == nil {
					st.log.Error("export-sweeper failed", "error", err)
				}
			}
		}
	}()

	// The HTTP API.
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	apiLn, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("API address %s: %w", addr, err)
	}
	st.APIURL = "http://" + apiLn.Addr().String()
	st.serve(apiLn, &apigw.Front{Invoker: st.Functions, Function: "api", Secret: st.Secret, AllowOrigin: "*",
		OnIdentity: st.provision, Static: st.webApp(), API: httpAPI})
	return nil
}

func (st *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st.servers = append(st.servers, srv)
	go srv.Serve(ln)
}

// loginRole makes sure a login role exists that is granted group (no
// ownership, no BYPASSRLS), and returns adminURL with its credentials: the
// Lambdas connect as portage_lambda (granted portage_app), the sweeper as
// portage_sweeper_login (granted portage_sweeper), so row-level security
// applies to them as in AWS. The URL points at proxyAddr.
func loginRole(ctx context.Context, adminURL, proxyAddr, name, group string) (string, error) {
	pool, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: adminURL, MaxConns: 1})
	if err != nil {
		return "", err
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%[1]s') THEN
			CREATE ROLE %[1]s LOGIN PASSWORD '%[1]s' NOBYPASSRLS;
		END IF;
	END $$`, name))
	if postgres.IsUniqueViolation(err) {
		err = nil // another stack on the same server created it just now
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := pool.Exec(ctx, fmt.Sprintf(`GRANT %s TO %s`, group, name)); err != nil {
		return "", fmt.Errorf("grant %s to %s: %w", group, name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.User = url.UserPassword(name, name)
	u.Host = proxyAddr
	return u.String(), nil
}

// s3Event delivers an S3 notification to import-trigger, as S3 invokes a
// Lambda asynchronously (retried twice on failure), with template.yaml's
// filter: ObjectCreated in the uploads bucket under uploads/.
func (st *Stack) s3Event(ctx context.Context, ev events.S3Event) {
	var recs []events.S3EventRecord
	for _, r := range ev.Records {
		if r.S3.Bucket.Name == UploadsBucket && strings.HasPrefix(r.S3.Object.Key, "uploads/") &&
			strings.Contains(r.EventName, "ObjectCreated:") {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return
	}
	payload, _ := json.Marshal(events.S3Event{Records: recs})
	go func() {
		for attempt := 0; attempt < 3; attempt++ {
			if _, err := st.Functions.Invoke(ctx, "import-trigger", payload); err == nil {
				return
			} else if attempt == 2 {
				st.log.Error("import-trigger failed", "error", err)
			}
			time.Sleep(time.Duration(attempt+1) * time.Second)
		}
	}()
}

// executionStatus is the EventBridge rule of template.yaml: a failed
// execution goes to import-fail.
func (st *Stack) executionStatus(ev sfn.StatusEvent) {
	if ev.Status != sfn.Failed && ev.Status != sfn.TimedOut {
		return
	}
	payload, _ := json.Marshal(map[string]any{
		"version": "0", "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
		"detail": map[string]any{"executionArn": ev.ExecutionARN, "stateMachineArn": ev.StateMachineARN,
			"name": ev.Name, "status": ev.Status, "input": ev.Input, "error": ev.Error, "cause": ev.Cause},
	})
	if _, err := st.Functions.Invoke(context.Background(), "import-fail", payload); err != nil {
		st.log.Error("import-fail failed", "execution", ev.ExecutionARN, "error", err)
	}
}

// LocalTenant is the tenant of the dev token the local stack's page offers
// and the CLI mints when no PORTAGE_TOKEN is set.
var LocalTenant = uuid.MustParse("00000000-0000-4000-8000-000000000001")

// webApp serves the web app, and at /dev/token a dev token of LocalTenant,
// which the sign-in page offers: only the local stack has that route.
func (st *Stack) webApp() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(web.Files))
	mux.HandleFunc("GET /dev/token", func(w http.ResponseWriter, r *http.Request) {
		token, err := st.Token(LocalTenant, uuid.Nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"token": token, "tenant_id": LocalTenant.String()})
	})
	return mux
}

// Token mints a dev token for the stack's authorizer.
func (st *Stack) Token(tenant, user uuid.UUID) (string, error) {
	return devtoken.Mint(st.Secret, tenant, user, 12*time.Hour)
}

// provision creates the tenant and user rows a valid dev token names, the
// first time they are seen (local stack only; in AWS they exist already).
func (st *Stack) provision(ctx context.Context, claims map[string]string) error {
	tenant, err := uuid.Parse(claims[api.ClaimTenant])
	if err != nil {
		return nil // the API answers 401
	}
	user, _ := uuid.Parse(claims[api.ClaimUser])
	key := tenant.String() + "/" + user.String()
	if _, done := st.provisioned.Load(key); done {
		return nil
	}
	err = postgres.InTenantTx(ctx, st.DB, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'Local tenant') ON CONFLICT DO NOTHING`, tenant); err != nil {
			return err
		}
		if user == uuid.Nil {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, name) VALUES ($1, $2, 'Local user') ON CONFLICT DO NOTHING`, user, tenant)
		return err
	})
	if err == nil {
		st.provisioned.Store(key, true)
	}
	return err
}

// Close stops everything the stack started.
func (st *Stack) Close() {
	for _, s := range st.servers {
		s.Close()
	}
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
	if st.cluster != nil {
		if err := st.cluster.Stop(); err != nil && !errors.Is(err, os.ErrNotExist) {
			st.log.Warn("stop PostgreSQL", "error", err)
		}
	}
}
