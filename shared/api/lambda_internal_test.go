package api

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestWithoutStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, stage, expected string
	}{
		{"NamedStage", "/prod/v1/imports", "prod", "/v1/imports"},
		{"StageRoot", "/prod", "prod", "/"},
		// A custom domain's API mapping sends paths without the stage.
		{"NoStageInPath", "/v1/imports", "prod", "/v1/imports"},
		// Only a whole path segment is the stage.
		{"LongerSegment", "/production/v1/imports", "prod", "/production/v1/imports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := withoutStage(tt.path, tt.stage); got != tt.expected {
				t.Errorf("withoutStage(%q, %q) = %q, want %q", tt.path, tt.stage, got, tt.expected)
			}
		})
	}
}

// A NUL in a path (%00) is a 404, as any path the API does not serve; the
// adapter could not make a request of it, and API Gateway answered 500.
func TestNulInPathIs404(t *testing.T) {
	t.Parallel()
	h := (&Server{}).LambdaHandler()
	for _, path := range []string{"/v1/imports/%00abc", "/v1/exports/%00", "/v1/imports/\x00"} {
		var ev events.APIGatewayV2HTTPRequest
		ev.RawPath = path
		ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "GET", path
		resp, err := h(context.Background(), ev)
		if err != nil || resp.StatusCode != 404 {
			t.Errorf("%q: %d, %v", path, resp.StatusCode, err)
		}
	}
}
