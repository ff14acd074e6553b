package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/client"
)

// bigTenant imports the same number of new contacts into a tenant that
// already holds size contacts and into an empty one, alternately: a chunk's
// cost must not grow with the tenant (its statements reach contacts by key
// and id only). The big tenant is loaded in bulk, untimed.
func (b *bench) bigTenant(ctx context.Context, r *report, size int) error {
	big := uuid.New()
	seed, err := b.file("big-tenant.csv", size, 50_000_000, 77)
	if err != nil {
		return err
	}
	if err := b.bulkTenant(ctx, seed, big); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	// An untimed import first: the stack's pools and caches are warm for
	// both measured ones, and they take turns going first.
	warm, err := b.file("warm.csv", min(b.rows, 5000), 70_000_000, 5)
	if err != nil {
		return err
	}
	if _, _, err := b.runImport(ctx, warm, nil); err != nil {
		return err
	}
	var intoBig, intoEmpty, bigCPU, emptyCPU runs
	for i := range b.repeat {
		type target struct {
			tenant   uuid.UUID
			rate, us *runs
		}
		order := []target{{big, &intoBig, &bigCPU}, {uuid.New(), &intoEmpty, &emptyCPU}}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, into := range order {
			path, err := b.file(fmt.Sprintf("into-%d.csv", i), b.rows, 60_000_000+i*b.rows, uint64(300+i))
			if err != nil {
				return err
			}
			token, err := b.st.Token(into.tenant, uuid.Nil)
			if err != nil {
				return err
			}
			api := &client.Client{BaseURL: b.st.APIURL, Token: token}
			cpu, start := sampleCPU(), time.Now()
			j, err := api.ImportFile(ctx, path, client.ImportRequest{})
			if err == nil {
				j, err = api.Wait(ctx, j.ID.String(), 100*time.Millisecond, nil)
			}
			if err != nil {
				return err
			}
			if j.CreatedCount != b.rows {
				return fmt.Errorf("import into tenant %s: %s, %d of %d created", into.tenant, j.Status, j.CreatedCount, b.rows)
			}
			into.rate.add(rate(b.rows, time.Since(start)), "")
			into.us.add(pgMicros(cpu, b.rows), "")
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
	}
	r.add(Figure{Name: fmt.Sprintf("import into a tenant of %d contacts", size), Rows: b.rows, Value: intoBig.value(), Unit: "rows/s",
		Baseline: "the same import into an empty tenant", BaseVal: intoEmpty.value(), Target: 0.9,
		Note: fmt.Sprintf("PostgreSQL CPU per contact %.1f µs into the big tenant, %.1f µs into the empty one", bigCPU.value(), emptyCPU.value())})
	return nil
}
