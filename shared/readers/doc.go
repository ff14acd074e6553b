// Package readers turns an uploaded file's bytes into a header and a stream
// of rows of text: CSV (delimiter and encoding detected), XLSX (through
// excelize's streaming row reader) and JSON (an array of objects or NDJSON).
//
// It owns file-level detection (type, encoding, delimiter), structural errors
// (an apperr.Invalid error naming the line or row) and row-level problems (ragged rows,
// over-long or undecodable cells, reported on the Record). It does not know
// what the columns mean: that is package mapping.
//
// Memory stays flat in file size: CSV streams; XLSX and JSON are spooled to a
// temporary file (excelize needs random access; JSON is read twice so that
// every key becomes a column).
package readers
