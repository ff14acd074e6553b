// Package contacts owns the contact: its fields, the values an import
// brings for one (Input), and the SQL that reads and writes the contacts
// table for an import chunk, set-based and tenant-scoped.
//
// It does not decide what an import does with a match (package importer) nor
// how file columns become fields (package mapping).
package contacts
