package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/api"
)

// Only a tenant_id in canonical form is a tenant: another spelling of a
// UUID, the nil UUID or none at all is 401, before any handler runs.
func TestTenantClaim(t *testing.T) {
	t.Parallel()
	h := (&api.Server{}).LambdaHandler()
	id := uuid.New()
	tests := []struct {
		name   string
		claims map[string]string
		status int
	}{
		{"Canonical", map[string]string{"tenant_id": id.String()}, http.StatusNotFound}, // no such route, past the identity
		{"Braces", map[string]string{"tenant_id": "{" + id.String() + "}"}, http.StatusUnauthorized},
		{"URN", map[string]string{"tenant_id": "urn:uuid:" + id.String()}, http.StatusUnauthorized},
		// uuid.Parse reads all three; only the canonical check refuses them.
		{"NoHyphens", map[string]string{"tenant_id": strings.ReplaceAll(id.String(), "-", "")}, http.StatusUnauthorized},
		{"UpperCaseIsCanonical", map[string]string{"tenant_id": strings.ToUpper(id.String())}, http.StatusNotFound},
		{"Nil", map[string]string{"tenant_id": uuid.Nil.String()}, http.StatusUnauthorized},
		{"Missing", map[string]string{"sub": id.String()}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/v1/nothing-here", RequestContext: events.APIGatewayV2HTTPRequestContext{
				Stage: "$default", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/nothing-here"},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: tt.claims}},
			}}
			resp, err := h(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
		})
	}
}
