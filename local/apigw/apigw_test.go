package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/portagehq/portage/local/apigw"
	"github.com/portagehq/portage/shared/devtoken"
)

// invoker answers every invocation with a body of n bytes.
type invoker int

func (n invoker) Invoke(context.Context, string, []byte) ([]byte, error) {
	return json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat("x", int(n))})
}

// A response over Lambda's 6 MB limit fails as it would in AWS (a 500),
// not as a response AWS would never deliver.
func TestResponseOverLambdasLimitIs500(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		size int
		want int
	}{{1 << 20, http.StatusOK}, {apigw.MaxResponseBytes, http.StatusInternalServerError}} {
		secret := devtoken.Secret()
		token, err := devtoken.Mint(secret, uuid.New(), uuid.New(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f := &apigw.Front{Invoker: invoker(tt.size), Function: "api", Secret: secret}
		req := httptest.NewRequest(http.MethodGet, "/v1/imports", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("a %d-byte body: %d, want %d", tt.size, rec.Code, tt.want)
		}
	}
}
