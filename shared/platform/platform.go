// Package platform builds a Lambda's dependencies from its environment:
// the AWS configuration, the PostgreSQL pool (through RDS Proxy with IAM
// authentication, or a plain DATABASE_URL), the JSON logger. Each
// functions/*/main.go calls it once per container.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/url"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/lambdafn"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
)

// Env is the environment a function reads.
type Env struct {
	// DatabaseURL, when set, is used as is (local runs); otherwise DB_HOST,
	// DB_PORT (5432), DB_NAME, DB_USER and DB_IAM_AUTH=true build an RDS
	// Proxy connection authenticated with IAM tokens.
	DatabaseURL string
	DBHost      string
	DBPort      int
	DBName      string
	DBUser      string
	DBIAMAuth   bool
	// DBSSLMode is libpq's sslmode for DB_HOST (default verify-full: RDS
	// Proxy's certificates come from ACM and chain to Amazon's public
	// roots, which the system trust store holds). DBSSLRootCert, when set,
	// is a CA bundle file to verify against instead (e.g. RDS's
	// global-bundle.pem, to connect to an instance without the proxy).
	DBSSLMode       string
	DBSSLRootCert   string
	UploadsBucket   string
	StateMachineARN string
	ChunkRows       int
	MaxConcurrency  int
	// ExportsBucket and ExportFunction configure exports.
	ExportsBucket  string
	ExportFunction string
	// RollbackStateMachineARN and RollbackBatch configure rollbacks.
	RollbackStateMachineARN string
	RollbackBatch           int
}

// FromEnv reads the environment, the one place a function does. A value
// that is set but not what its variable takes is an error that names the
// variable and the value (a bad number used to become the default
// silently); an unset one takes its default.
func FromEnv() (Env, error) {
	var r envReader
	e := Env{
		DatabaseURL: os.Getenv("DATABASE_URL"), DBHost: os.Getenv("DB_HOST"), DBPort: r.count("DB_PORT", 5432),
		DBName: os.Getenv("DB_NAME"), DBUser: os.Getenv("DB_USER"), DBIAMAuth: r.flag("DB_IAM_AUTH"),
		DBSSLMode: os.Getenv("DB_SSLMODE"), DBSSLRootCert: os.Getenv("DB_SSLROOTCERT"),
		UploadsBucket: os.Getenv("UPLOADS_BUCKET"), StateMachineARN: os.Getenv("STATE_MACHINE_ARN"),
		ChunkRows: r.count("CHUNK_ROWS", 0), MaxConcurrency: r.count("MAX_CHUNK_CONCURRENCY", 0),
		ExportsBucket: os.Getenv("EXPORTS_BUCKET"), ExportFunction: os.Getenv("EXPORT_FUNCTION"),
		RollbackStateMachineARN: os.Getenv("ROLLBACK_STATE_MACHINE_ARN"), RollbackBatch: r.count("ROLLBACK_BATCH", 0),
	}
	return e, errors.Join(r.errs...)
}

// envReader reads typed variables and keeps what was wrong with them.
type envReader struct{ errs []error }

// count reads a positive whole number; def when the variable is unset.
func (r *envReader) count(name string, def int) int {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a whole number above 0", name, v))
		return def
	}
	return n
}

// flag reads true or false (unset is false).
func (r *envReader) flag(name string) bool {
	switch v := os.Getenv(name); v {
	case "", "false":
		return false
	case "true":
		return true
	default:
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want true or false", name, v))
		return false
	}
}

// Logger is the functions' structured logger: JSON on stdout.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, nil))
}

// AWS loads the SDK configuration (region, credentials, and endpoints such
// as AWS_ENDPOINT_URL_S3 for a local stack).
func AWS(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}

// Pool opens the database pool: 2 connections, nothing that pins an RDS
// Proxy connection, TLS verified against the proxy's name, and with IAM
// auth a fresh token for every new connection (tokens live 15 minutes).
func (e Env) Pool(ctx context.Context, cfg aws.Config) (*pgxpool.Pool, error) {
	pc, err := e.PoolConfig(cfg)
	if err != nil {
		return nil, err
	}
	return postgres.NewPool(ctx, pc)
}

// PoolConfig is the pool's configuration from the environment.
func (e Env) PoolConfig(cfg aws.Config) (postgres.PoolConfig, error) {
	if e.DatabaseURL != "" {
		return postgres.PoolConfig{URL: e.DatabaseURL, MaxConns: 2}, nil
	}
	if e.DBHost == "" || e.DBName == "" || e.DBUser == "" {
		return postgres.PoolConfig{}, fmt.Errorf("set DATABASE_URL, or DB_HOST, DB_NAME and DB_USER")
	}
	q := url.Values{"sslmode": {e.DBSSLMode}}
	if e.DBSSLMode == "" {
		q.Set("sslmode", "verify-full")
	}
	if e.DBSSLRootCert != "" {
		q.Set("sslrootcert", e.DBSSLRootCert)
	}
	u := url.URL{Scheme: "postgres", User: url.User(e.DBUser), Host: fmt.Sprintf("%s:%d", e.DBHost, e.DBPort),
		Path: "/" + e.DBName, RawQuery: q.Encode()}
	pc := postgres.PoolConfig{URL: u.String(), MaxConns: 2}
	if e.DBIAMAuth {
		endpoint := fmt.Sprintf("%s:%d", e.DBHost, e.DBPort)
		pc.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
			token, err := auth.BuildAuthToken(ctx, endpoint, cfg.Region, e.DBUser, cfg.Credentials)
			if err != nil {
				return fmt.Errorf("rds auth token: %w", err)
			}
			cc.Password = token
			return nil
		}
	}
	return pc, nil
}

// Base is what every function builds first: its environment, the AWS
// configuration, the database pool and the logger.
type Base struct {
	Env Env
	AWS aws.Config
	DB  *pgxpool.Pool
	Log *slog.Logger
}

// Load builds a function's Base from its environment.
func Load(ctx context.Context) (Base, error) {
	env, err := FromEnv()
	b := Base{Env: env, Log: Logger()}
	if err != nil {
		return b, fmt.Errorf("environment: %w", err)
	}
	if b.AWS, err = AWS(ctx); err != nil {
		return b, fmt.Errorf("aws config: %w", err)
	}
	if b.DB, err = b.Env.Pool(ctx, b.AWS); err != nil {
		return b, fmt.Errorf("database: %w", err)
	}
	return b, nil
}

// Config is the handlers' configuration from the function's environment.
// A function has one database user: the export-sweeper's is the sweeper's.
func (b Base) Config() lambdafn.Config {
	s3c := s3.NewFromConfig(b.AWS)
	return lambdafn.Config{
		DB: b.DB, SweeperDB: b.DB,
		Uploads:         objstore.S3{Client: s3c, Bucket: b.Env.UploadsBucket},
		Exports:         objstore.S3{Client: s3c, Bucket: b.Env.ExportsBucket},
		Presign:         s3.NewPresignClient(s3c),
		SFN:             sfn.NewFromConfig(b.AWS),
		Lambda:          awslambda.NewFromConfig(b.AWS),
		ImportMachine:   b.Env.StateMachineARN,
		RollbackMachine: b.Env.RollbackStateMachineARN,
		ExportFunction:  b.Env.ExportFunction,
		ChunkRows:       b.Env.ChunkRows, MaxConcurrency: b.Env.MaxConcurrency, RollbackBatch: b.Env.RollbackBatch,
		Log: b.Log,
	}
}

// Start runs the function named name (as in template.yaml and functions/):
// it loads the environment and hands the handler lambdafn builds for that
// name to the Lambda runtime. It does not return.
func Start(name string) {
	b, err := Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h, ok := lambdafn.Handlers(b.Config())[name]
	if !ok {
		log.Fatalf("no handler for function %q", name)
	}
	lambda.Start(h)
}
