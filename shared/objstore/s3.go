//lint:file-ignore SA1019 feature/s3/manager is the design's choice; its successor, transfermanager, is still v0.

package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is a Store on one S3 bucket. Put streams through a multipart upload, so
// memory is bounded by the part size whatever the object's size.
type S3 struct {
	Client *s3.Client
	Bucket string
}

// Put uploads r under key.
func (s S3) Put(ctx context.Context, key string, r io.Reader) error {
	up := manager.NewUploader(s.Client, func(u *manager.Uploader) {
		u.PartSize = 8 << 20
		u.Concurrency = 2
		// No SHA-256 of every part for the signature (UNSIGNED-PAYLOAD):
		// the parts carry the SDK's CRC checksums, and TLS protects them on
		// the way to S3. The hash was about a tenth of the CPU a csv export
		// spent in this process, and the server hashed every byte again.
		u.ClientOptions = append(u.ClientOptions, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		})
	})
	if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: r}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}

// Get streams the object under key.
func (s S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.Bucket, key, err)
	}
	return out.Body, nil
}

// Delete removes the object under key (S3 answers success for a missing key).
func (s S3) Delete(ctx context.Context, key string) error {
	if _, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}
