package lambdafn

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/postgres"
)

// Logged wraps a handler so that each invocation logs one structured line:
// the function, the job, tenant and chunk it worked on, how long it took
// and how it ended ("ok", or the error's task name). Nothing of a contact
// is logged: the attributes come from the input's identifiers only.
func Logged[In, Out any](function string, log *slog.Logger, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		start := time.Now()
		out, err := h(ctx, in)
		logInvocation(ctx, logger(log), function, any(in), time.Since(start), err)
		return out, err
	}
}

// LoggedFunc is Logged for a handler that returns only an error.
func LoggedFunc[In any](function string, log *slog.Logger, h func(context.Context, In) error) func(context.Context, In) error {
	return func(ctx context.Context, in In) error {
		start := time.Now()
		err := h(ctx, in)
		logInvocation(ctx, logger(log), function, any(in), time.Since(start), err)
		return err
	}
}

func logInvocation(ctx context.Context, log *slog.Logger, function string, in any, d time.Duration, err error) {
	attrs := []any{"function", function, "duration_ms", d.Milliseconds()}
	switch v := in.(type) {
	case JobInput:
		attrs = append(attrs, "job_id", v.JobID, "tenant_id", v.TenantID)
	case FailInput:
		attrs = append(attrs, "job_id", v.JobID, "tenant_id", v.TenantID, "failure", v.Error.Error)
	case importer.Chunk:
		attrs = append(attrs, "job_id", v.JobID, "tenant_id", v.TenantID, "chunk", v.Index, "rows", v.Rows)
	case exporter.Request:
		attrs = append(attrs, "export_id", v.ExportID, "tenant_id", v.TenantID)
	case events.S3Event:
		attrs = append(attrs, "records", len(v.Records))
	}
	if err == nil {
		log.InfoContext(ctx, "invocation", append(attrs, "outcome", "ok")...)
		return
	}
	log.WarnContext(ctx, "invocation", append(attrs, "outcome", apperr.TaskName(postgres.AppError(err)))...)
}
