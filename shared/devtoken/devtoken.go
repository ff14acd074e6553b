// Package devtoken mints and verifies the local stack's JWTs: HS256 tokens
// with the issuer and audience the local JWT authorizer expects. In AWS the
// HTTP API's JWT authorizer verifies the identity provider's tokens instead;
// the claims the API reads (tenant_id, sub) are the same.
package devtoken

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Issuer and Audience of local tokens.
const (
	Issuer   = "portage-local"
	Audience = "portage"
)

// Secret is the local signing key: $PORTAGE_DEV_SECRET, else a fixed
// development value. Local stack only.
func Secret() []byte {
	if s := os.Getenv("PORTAGE_DEV_SECRET"); s != "" {
		return []byte(s)
	}
	return []byte("portage-local-development-secret")
}

// Mint returns a token for tenant (and user, when not Nil) valid for ttl.
func Mint(secret []byte, tenant, user uuid.UUID, ttl time.Duration) (string, error) {
	if tenant == uuid.Nil {
		return "", errors.New("a tenant id is required")
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": Issuer, "aud": Audience, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"tenant_id": tenant.String(),
	}
	if user != uuid.Nil {
		claims["sub"] = user.String()
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// Verify checks signature, algorithm, expiry, issuer and audience and
// returns the claims as strings, the way API Gateway passes them on.
func Verify(secret []byte, token string) (map[string]string, error) {
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !ok {
		return nil, errors.New("unexpected claims")
	}
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		switch t := v.(type) {
		case string:
			out[k] = t
		case float64:
			out[k] = fmt.Sprintf("%.0f", t)
		default:
			out[k] = fmt.Sprint(t)
		}
	}
	return out, nil
}
