package lambdafn

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/api"
	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/reconcile"
)

// Config is what the functions' handlers are built from. In AWS each
// function fills it from its environment (platform.Start), and uses the one
// handler of its name; the local stack fills it from the parts it runs and
// registers every handler.
type Config struct {
	// DB connects as the Lambdas' role (row-level security applies).
	DB *pgxpool.Pool
	// SweeperDB connects as portage_sweeper, which sees the expired exports
	// and open jobs of every tenant: the export-sweeper's database user.
	SweeperDB *pgxpool.Pool
	// Uploads is the uploads bucket (uploads and the pipeline's parts);
	// Exports the exports bucket.
	Uploads       objstore.S3
	Exports       objstore.S3
	Presign       api.Presigner
	SFN           SFN
	Lambda        LambdaInvoker
	ImportMachine string // the import state machine's ARN
	// RollbackMachine is the rollback state machine's ARN.
	RollbackMachine string
	// ExportFunction is the export function's name or ARN.
	ExportFunction string
	// ChunkRows is the rows per chunk; MaxConcurrency how many chunks of one
	// import run at once.
	ChunkRows, MaxConcurrency int
	RollbackBatch             int
	// ExportProgressEvery is how many rows pass between export progress updates.
	ExportProgressEvery int
	Log                 *slog.Logger
}

// Handlers returns the handler of every function of template.yaml, by the
// function's name there (functions/<name>): each is what lambda.Start takes.
func Handlers(c Config) map[string]any {
	deps := importer.Deps{DB: c.DB, Store: c.Uploads, ChunkRows: c.ChunkRows}
	apiSrv := &api.Server{DB: c.DB, UploadsBucket: c.Uploads.Bucket, Presign: c.Presign, Log: c.Log,
		Rollbacks: RollbackStarter{SFN: c.SFN, StateMachineARN: c.RollbackMachine},
		Exports:   ExportStarter{Lambda: c.Lambda, Function: c.ExportFunction}, ExportsBucket: c.Exports.Bucket,
		Reviews: ReviewCallbacks{SFN: c.SFN}, Uploads: c.Uploads}
	// Every function but the API (whose requests API Gateway logs) logs
	// one line an invocation (Logged).
	return map[string]any{
		"api": apiSrv.LambdaHandler(),
		"import-trigger": LoggedFunc("import-trigger", c.Log, TriggerHandler{DB: c.DB, SFN: c.SFN, StateMachineARN: c.ImportMachine,
			MaxConcurrency: c.MaxConcurrency, Log: c.Log}.Handle),
		"import-inspect":  Task(Logged("import-inspect", c.Log, InspectHandler{Deps: deps}.Handle)),
		"import-prepare":  Task(Logged("import-prepare", c.Log, PrepareHandler{Deps: deps}.Handle)),
		"import-chunk":    Task(Logged("import-chunk", c.Log, ChunkHandler{Deps: deps}.Handle)),
		"import-finalize": Task(Logged("import-finalize", c.Log, FinalizeHandler{Deps: deps}.Handle)),
		"import-fail":     Task(Logged("import-fail", c.Log, FailHandler{Deps: deps, Log: c.Log}.Handle)),
		"rollback":        Task(Logged("rollback", c.Log, BatchHandler{DB: c.DB, Size: c.RollbackBatch}.Handle)),
		"export": LoggedFunc("export", c.Log, exporter.Deps{DB: c.DB, Store: c.Exports, Bucket: c.Exports.Bucket, Log: c.Log,
			ProgressEvery: c.ExportProgressEvery}.Handle),
		"export-sweeper": LoggedFunc("export-sweeper", c.Log, scheduled(reconcile.Scheduled(
			exporter.Sweeper{DB: c.SweeperDB, Store: c.Exports, Log: c.Log}.Handle,
			reconcile.Reconciler{DB: c.SweeperDB, SFN: c.SFN, StateMachineARN: c.ImportMachine, Log: c.Log,
				Rollbacks: RollbackStarter{SFN: c.SFN, StateMachineARN: c.RollbackMachine}}.Handle))),
	}
}

// scheduled gives a scheduled handler (no input) the shape LoggedFunc
// wraps; the schedule's event carries nothing it reads.
func scheduled(h func(context.Context) error) func(context.Context, struct{}) error {
	return func(ctx context.Context, _ struct{}) error { return h(ctx) }
}
