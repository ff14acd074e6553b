// Package mapping turns a file's columns into contact fields: it resolves
// field_mapping (explicit entries, then header synonyms in several
// languages), then validates and normalizes each row into a contacts.Input
// or a list of row errors.
//
// It knows nothing of the database or of files' bytes.
package mapping
