package api

import (
	"context"
	"net/http"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/google/uuid"
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
		return Identity{}, unauthorized()
	}
	claims := gw.Authorizer.JWT.Claims
	tenant, err := uuid.Parse(claims[ClaimTenant])
	if err != nil || tenant == uuid.Nil {
		return Identity{}, unauthorized()
	}
	id := Identity{TenantID: tenant}
	if u, err := uuid.Parse(claims[ClaimUser]); err == nil {
		id.UserID = &u
	}
	return id, nil
}
