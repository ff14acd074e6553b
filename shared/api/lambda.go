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
		return adapter.ProxyWithContext(ctx, ev)
	}
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
