package s3local_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portagehq/portage/local/s3local"
)

// A presigned PUT, as a browser sends it, lands and raises an ObjectCreated
// event with the key; a tampered signature is refused.
func TestPresignedPutRaisesEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var got []events.S3EventRecord
	srv, err := s3local.Start(ctx, s3local.Options{Buckets: []string{"uploads"}, OnEvent: func(_ context.Context, ev events.S3Event) {
		mu.Lock()
		got = append(got, ev.Records...)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	body := []byte("email\na@b.co\n")
	req, err := s3.NewPresignClient(srv.Client()).PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("uploads"), Key: aws.String("uploads/t/j/my file.csv"),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("text/csv")})
	if err != nil {
		t.Fatal(err)
	}
	put := func(url string) int {
		r, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
		r.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(strings.Replace(req.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)); code != http.StatusForbidden {
		t.Fatalf("a tampered signature got %d, want 403", code)
	}
	if code := put(req.URL); code != http.StatusOK {
		t.Fatalf("presigned PUT got %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0].EventName, "s3:ObjectCreated:") && !strings.HasPrefix(got[0].EventName, "ObjectCreated:") {
		t.Fatalf("events %+v", got)
	}
	// Keys arrive URL-encoded, as AWS sends them.
	if got[0].S3.Object.Key != "uploads/t/j/my+file.csv" || got[0].S3.Object.URLDecodedKey != "uploads/t/j/my file.csv" {
		t.Fatalf("key %q, decoded %q", got[0].S3.Object.Key, got[0].S3.Object.URLDecodedKey)
	}
}
