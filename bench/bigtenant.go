package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/client"
)

// bigTenant imports the same number (rows) of new contacts into a tenant
// that already holds size contacts and into an empty one, alternately: a
// chunk's cost must not grow with the tenant (its statements reach
// contacts by key and id only). The big tenant is loaded in bulk, untimed.
func (b *bench) bigTenant(ctx context.Context, r *report, size, rows int) error {
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
	warm, err := b.file("warm.csv", min(rows, 5000), 70_000_000, 5)
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
			path, err := b.file(fmt.Sprintf("into-%d-%d.csv", size, i), rows, 60_000_000+i*rows, uint64(300+i))
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
			if j.CreatedCount != rows {
				return fmt.Errorf("import into tenant %s: %s, %d of %d created", into.tenant, j.Status, j.CreatedCount, rows)
			}
			into.rate.add(rate(rows, time.Since(start)), "")
			into.us.add(pgMicros(cpu, rows), "")
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
	}
	r.add(Figure{Name: fmt.Sprintf("import into a tenant of %d contacts", size), Rows: rows, Value: intoBig.value(), Unit: "rows/s",
		Baseline: "the same import into an empty tenant", BaseVal: intoEmpty.value(), Target: 0.9,
		Note: fmt.Sprintf("PostgreSQL CPU per contact %.1f µs into the big tenant, %.1f µs into the empty one", bigCPU.value(), emptyCPU.value())})
	return nil
}

// firstImport is a new deployment's first import, the figure every
// evaluation starts with: the bench's first step, into the database as
// migrated (no bystander, nothing warmed before it, statistics as an empty
// table has them), end to end, beside the same work in bulk on the same
// file. The same file's second import (new keys, into another tenant)
// follows, untimed by the baseline, to show the first is not slower.
func (b *bench) firstImport(ctx context.Context, r *report, rows int) error {
	path, err := b.file("first.csv", rows, 80_000_000, 11)
	if err != nil {
		return err
	}
	cpu := sampleCPU()
	j, d, err := b.runImport(ctx, path, nil)
	if err != nil {
		return err
	}
	if j.CreatedCount != rows {
		return fmt.Errorf("first import created %d of %d", j.CreatedCount, rows)
	}
	first, firstCPU := rate(rows, d), pgMicros(cpu, rows)
	if err := b.settle(ctx); err != nil {
		return err
	}
	same := uuid.New()
	if _, err := b.admin.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'bench first same work')`, same); err != nil {
		return err
	}
	cpu = sampleCPU()
	bd, err := b.sameWorkNew(ctx, path, same, rows)
	if err != nil {
		return err
	}
	bulk, bulkCPU := rate(rows, bd), pgMicros(cpu, rows)
	if err := b.settle(ctx); err != nil {
		return err
	}
	second, err := b.file("second.csv", rows, 81_000_000, 12)
	if err != nil {
		return err
	}
	token, err := b.st.Token(uuid.New(), uuid.Nil)
	if err != nil {
		return err
	}
	api := &client.Client{BaseURL: b.st.APIURL, Token: token}
	start := time.Now()
	j, err = api.ImportFile(ctx, second, client.ImportRequest{})
	if err == nil {
		j, err = api.Wait(ctx, j.ID.String(), 100*time.Millisecond, nil)
	}
	if err != nil {
		return err
	}
	if j.CreatedCount != rows {
		return fmt.Errorf("second import created %d of %d", j.CreatedCount, rows)
	}
	r.add(Figure{Name: "first import into a new deployment, end to end", Rows: rows, Value: first, Unit: "rows/s",
		Baseline: "same work in bulk (contacts + events)", BaseVal: bulk, Target: 0.8,
		Note: fmt.Sprintf("one run, nothing before it; PostgreSQL CPU %.1f µs a contact, the baseline's %.1f; the next import of as many new contacts ran at %.0f rows/s",
			firstCPU, bulkCPU, rate(rows, time.Since(start)))})
	return b.settle(ctx)
}
