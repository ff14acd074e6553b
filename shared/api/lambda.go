package api

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// LambdaHandler is the api function's handler for API Gateway HTTP API
// events (payload 2.0): the functions/api main and the local stack both
// register it, so the two cannot drift apart.
//
// On a named stage API Gateway puts the stage in the path
// (rawPath "/prod/v1/imports" on stage "prod"); the routes are registered
// without it, so it is taken off first. On the $default stage, or through a
// custom domain's API mapping, the path has no stage and is left alone.
func (s *Server) LambdaHandler() func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(s.Handler())
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		stage := ev.RequestContext.Stage
		if stage != "" && stage != "$default" {
			ev.RawPath = withoutStage(ev.RawPath, stage)
			ev.RequestContext.HTTP.Path = withoutStage(ev.RequestContext.HTTP.Path, stage)
		}
		// A path the adapter cannot make a request of (a NUL, %00, in it)
		// names nothing the API serves: 404, as any unknown path, rather
		// than the adapter's error, which API Gateway answers with 500.
		if strings.ContainsRune(ev.RawPath, 0) || strings.Contains(strings.ToLower(ev.RawPath), "%00") ||
			strings.ContainsRune(ev.RequestContext.HTTP.Path, 0) {
			return notFoundResponse(), nil
		}
		return adapter.ProxyWithContext(ctx, ev)
	}
}

// notFoundResponse is the API's 404 for a path it cannot read.
func notFoundResponse() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{"Content-Type": "application/json"},
		Body: `{"error":{"code":"not_found","message":"no such resource"}}`}
}

func withoutStage(path, stage string) string {
	rest, ok := strings.CutPrefix(path, "/"+stage)
	switch {
	case !ok:
		return path
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	default:
		return path // "/production/…" on stage "prod"
	}
}
