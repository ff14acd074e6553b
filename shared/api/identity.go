package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Identity is who calls: from the verified token only.
type Identity struct {
	TenantID uuid.UUID
	UserID   *uuid.UUID
}

// Claim names in Portage's tokens.
const (
	ClaimTenant = "tenant_id"
	ClaimUser   = "sub"
)

type identityKey struct{}

// checkUser refuses a token whose user (sub) is not a user of its tenant:
// what a job records as created_by is never another tenant's user. The
// lookup is scoped by row-level security to the transaction's tenant.
func checkUser(ctx context.Context, tx pgx.Tx, id Identity) error {
	if id.UserID == nil {
		return nil
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2)`, *id.UserID, id.TenantID).Scan(&ok); err != nil {
		return fmt.Errorf("check the token's user: %w", err)
	}
	if !ok {
		return unauthorized("the token's user (sub) is not a user of its tenant")
	}
	return nil
}

// WithIdentity returns ctx carrying id, for callers that verified a token
// themselves (tests, other front ends).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identity reads the caller from the context: set by WithIdentity, or the
// JWT authorizer's claims that the API Gateway adapter put there.
func identity(r *http.Request) (Identity, error) {
	if id, ok := r.Context().Value(identityKey{}).(Identity); ok {
		return id, nil
	}
	gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || gw.Authorizer == nil || gw.Authorizer.JWT == nil {
		return Identity{}, unauthorized("a valid bearer token is required")
	}
	claims := gw.Authorizer.JWT.Claims
	// Only the canonical form: "{…}", "urn:uuid:…" or 32 bare hex digits
	// would name the same tenant in another spelling.
	tenant, err := uuid.Parse(claims[ClaimTenant])
	if err != nil || tenant == uuid.Nil || !strings.EqualFold(claims[ClaimTenant], tenant.String()) {
		return Identity{}, unauthorized("a valid bearer token is required")
	}
	id := Identity{TenantID: tenant}
	if u, err := uuid.Parse(claims[ClaimUser]); err == nil && u != uuid.Nil && strings.EqualFold(claims[ClaimUser], u.String()) {
		id.UserID = &u
	}
	return id, nil
}
