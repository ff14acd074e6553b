package platform_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portagehq/portage/shared/platform"
	"github.com/portagehq/portage/shared/postgres"
)

// In AWS the pool verifies the proxy's certificate and host name, and its
// startup message carries nothing RDS Proxy refuses.
func TestPoolThroughRDSProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        platform.Env
		serverName string
		rootCAs    bool
	}{
		{"VerifyFullByDefault", platform.Env{DBHost: "p.proxy-x.eu-west-1.rds.amazonaws.com", DBPort: 5432, DBName: "portage",
			DBUser: "portage_lambda", DBIAMAuth: true}, "p.proxy-x.eu-west-1.rds.amazonaws.com", false},
		{"OwnCABundle", platform.Env{DBHost: "db.x.rds.amazonaws.com", DBPort: 5432, DBName: "portage", DBUser: "u",
			DBSSLRootCert: "testdata/ca.pem"}, "db.x.rds.amazonaws.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pc, err := tt.env.PoolConfig(aws.Config{Region: "eu-west-1", Credentials: aws.AnonymousCredentials{}})
			if err != nil {
				t.Fatal(err)
			}
			pool, err := postgres.NewPool(context.Background(), pc) // connects lazily
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			cc := pool.Config().ConnConfig
			tc := cc.TLSConfig
			if tc == nil || tc.InsecureSkipVerify || tc.ServerName != tt.serverName || (tc.RootCAs != nil) != tt.rootCAs {
				t.Fatalf("TLS config %+v, want the certificate verified for %s", tc, tt.serverName)
			}
			if len(cc.Fallbacks) != 0 {
				t.Errorf("%d fallback configs: a verify-full pool must never retry without TLS", len(cc.Fallbacks))
			}
			if err := postgres.CheckStartupParams(cc.RuntimeParams); err != nil {
				t.Error(err)
			}
		})
	}
}

// A variable set to what it does not take is an error naming it and its
// value, every one of them at once; unset ones take their defaults.
func TestFromEnvNamesBadValues(t *testing.T) {
	t.Setenv("CHUNK_ROWS", "5k")
	t.Setenv("ROLLBACK_BATCH", "-1")
	t.Setenv("DB_IAM_AUTH", "yes")
	t.Setenv("DB_PORT", "")
	_, err := platform.FromEnv()
	for _, want := range []string{`CHUNK_ROWS="5k"`, `ROLLBACK_BATCH="-1"`, `DB_IAM_AUTH="yes"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	t.Setenv("CHUNK_ROWS", "2000")
	t.Setenv("ROLLBACK_BATCH", "")
	t.Setenv("DB_IAM_AUTH", "true")
	env, err := platform.FromEnv()
	if err != nil || env.ChunkRows != 2000 || env.RollbackBatch != 0 || !env.DBIAMAuth || env.DBPort != 5432 {
		t.Fatalf("%+v, %v", env, err)
	}
}
