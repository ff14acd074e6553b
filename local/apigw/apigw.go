// Package apigw is the local stand-in for API Gateway's HTTP API with a JWT
// authorizer: it verifies the bearer token, builds the
// APIGatewayV2HTTPRequest event with the token's claims, invokes the api
// function through the local Lambda registry and writes its response.
package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portagehq/portage/local/template"
	"github.com/portagehq/portage/shared/devtoken"
)

// Invoker runs a Lambda function.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Front is the HTTP API.
type Front struct {
	Invoker  Invoker
	Function string
	Secret   []byte
	// AllowOrigin is the CORS origin the API answers browsers from.
	AllowOrigin string
	// OnIdentity, when set, sees the claims of every verified token first
	// (the local stack provisions the tenant and user they name).
	OnIdentity func(context.Context, map[string]string) error
	// Static, when set, serves GET / and other paths outside /v1/ (the
	// upload page), without a token, as the web app's origin would.
	Static http.Handler
	// API is the template's stage and route (template.API): on a named
	// stage the event's rawPath starts with "/<stage>", as API Gateway's
	// does. The zero value is the $default stage and route.
	API template.HTTPAPI
}

// maxBody is API Gateway's payload limit.
const maxBody = 10 << 20

// MaxResponseBytes is Lambda's limit on a synchronous invocation's
// response (the event API Gateway gets back, its JSON encoding included).
const MaxResponseBytes = 6 << 20

// ServeHTTP handles one request: /healthz is public; everything else needs
// a valid token, as the JWT authorizer would require.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.AllowOrigin != "" {
		w.Header().Set("Access-Control-Allow-Origin", f.AllowOrigin)
		w.Header().Set("Access-Control-Allow-Headers", "authorization, content-type")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if f.Static != nil && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/v1/") && r.URL.Path != "/healthz" {
		f.Static.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims, err := devtoken.Verify(f.Secret, strings.TrimSpace(token))
	if !ok || err != nil {
		// API Gateway's own answer to a missing or bad token.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Unauthorized"}`)
		return
	}
	if f.OnIdentity != nil {
		if err := f.OnIdentity(r.Context(), claims); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"message":"Internal Server Error"}`)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"message":"Request Entity Too Large"}`)
		return
	}
	ev := f.event(r, body, claims)
	payload, _ := json.Marshal(ev)
	out, err := f.Invoker.Invoke(r.Context(), f.Function, payload)
	// Lambda refuses a synchronous response over 6 MB, and API Gateway
	// answers the request with a 500: the local front does the same, so a
	// response that would fail in AWS fails here too.
	if err != nil || len(out) > MaxResponseBytes {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"message":"Internal Server Error"}`)
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(resp.Body)
		w.Write(b)
		return
	}
	io.WriteString(w, resp.Body)
}

func (f *Front) event(r *http.Request, body []byte, claims map[string]string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	now := time.Now()
	// What API Gateway sends for the template's stage and route: the path
	// it was called on (with the stage on a named stage) in rawPath and
	// http.path, the route's greedy parameter in pathParameters.
	stage, route := f.API.Stage, f.API.RouteKey
	if stage == "" {
		stage = "$default"
	}
	if route == "" {
		route = "$default"
	}
	path := r.URL.Path
	if stage != "$default" {
		path = "/" + stage + path
	}
	var params map[string]string
	if f.API.ProxyParam != "" {
		params = map[string]string{f.API.ProxyParam: strings.TrimPrefix(r.URL.Path, "/")}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, RawQueryString: r.URL.RawQuery,
		Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: route, AccountID: "000000000000", Stage: stage, APIID: "local",
			DomainName: r.Host, RequestID: now.Format("20060102150405.000000000"), Time: now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: path, Protocol: r.Proto, SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent(),
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}
