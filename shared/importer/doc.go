// Package importer runs an import's three steps as library functions, each
// idempotent so that Step Functions may retry or redrive any of them:
//
//   - Prepare reads the uploaded file once, validates every row, finds the
//     in-file duplicates and writes the rows as chunk parts, a manifest and
//     the error report to the object store.
//   - ApplyChunk applies one part in one transaction: contacts, their
//     import events, the chunk's result row and the job's progress.
//   - Finalize sums the chunk results into the job and completes it.
//
// The Lambda handlers (functions/) decode events and call these; the state
// machine wires them together.
package importer
